alert_figure = { $figure ->
        [module_utilization] utilisation des modules
       *[active_licensee_rate] taux de titulaires actifs
    }
alert_gain = { $figure ->
        [module_utilization] { $n } modules utilisés de plus nécessaires
       *[active_licensee_rate] { $n } utilisateurs réguliers de plus nécessaires
    }
alert_below = { $weeks ->
        [1] { alert_figure } { $rate }, pas au-dessus de l’objectif de { $target } ; { alert_gain }
       *[other] { alert_figure } { $rate }, pas au-dessus de l’objectif de { $target } depuis { $weeks } semaines ; { alert_gain }
    }
alert_above = { alert_figure } { $rate }, de nouveau au-dessus de l’objectif de { $target }
alert_dropped = { alert_figure } est passé de { $before } à { $now } en { $week } ({ $points } points)
alert_held = { alert_figure } { $now } en { $week } après { $before } la semaine précédente
alert_behind = { $points } points de retard sur { $reference } à la semaine { $since } depuis le lancement
alert_close = { $points } points d’écart avec { $reference } à la semaine { $since } depuis le lancement, dans la limite
alert_passes_in = atteint l’objectif en { $week }
alert_passes_between = atteint l’objectif entre { $earliest } et { $latest }
alert_passes_earliest = atteint l’objectif au plus tôt en { $week }
alert_passes_never = n’atteint pas l’objectif
alert_misses = prévision : au rythme actuel, { alert_figure } { $when }, après la semaine cible ; { $n } par semaine nécessaires
alert_on_track = prévision : { alert_figure } { $status ->
        [passing] au-dessus de l’objectif
        [on_track] en bonne voie
       *[at_risk] menacé
    }
