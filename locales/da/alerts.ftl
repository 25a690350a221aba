alert_figure = { $figure ->
        [module_utilization] moduludnyttelse
       *[active_licensee_rate] andel aktive licenstagere
    }
alert_gain = { $figure ->
        [module_utilization] { $n } flere moduler i brug nødvendige
       *[active_licensee_rate] { $n } flere faste brugere nødvendige
    }
alert_below = { $weeks ->
        [1] { alert_figure } { $rate }, ikke over målet på { $target }; { alert_gain }
       *[other] { alert_figure } { $rate }, ikke over målet på { $target } i { $weeks } uger i træk; { alert_gain }
    }
alert_above = { alert_figure } { $rate }, over målet på { $target } igen
alert_dropped = { alert_figure } faldt fra { $before } til { $now } i { $week } ({ $points } point)
alert_held = { alert_figure } { $now } i { $week } efter { $before } ugen før
alert_behind = { $points } point bag { $reference } i uge { $since } siden go-live
alert_close = { $points } point fra { $reference } i uge { $since } siden go-live, inden for grænsen
alert_passes_in = når målet i { $week }
alert_passes_between = når målet mellem { $earliest } og { $latest }
alert_passes_earliest = når målet tidligst i { $week }
alert_passes_never = når ikke målet
alert_misses = prognose: i det nuværende tempo { $when } ({ alert_figure }), efter måluge; { $n } nødvendige pr. uge
alert_on_track = prognose: { alert_figure } { $status ->
        [passing] over målet
        [on_track] på rette spor
       *[at_risk] i fare
    }
