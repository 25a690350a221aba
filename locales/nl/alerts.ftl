alert_figure = { $figure ->
        [module_utilization] modulebenutting
       *[active_licensee_rate] aandeel actieve licentiehouders
    }
alert_gain = { $figure ->
        [module_utilization] nog { $n } modules in gebruik nodig
       *[active_licensee_rate] nog { $n } vaste gebruikers nodig
    }
alert_below = { $weeks ->
        [1] { alert_figure } { $rate }, niet boven het doel van { $target }; { alert_gain }
       *[other] { alert_figure } { $rate }, al { $weeks } weken op rij niet boven het doel van { $target }; { alert_gain }
    }
alert_above = { alert_figure } { $rate }, weer boven het doel van { $target }
alert_dropped = { alert_figure } daalde van { $before } naar { $now } in { $week } ({ $points } punten)
alert_held = { alert_figure } { $now } in { $week } na { $before } de week ervoor
alert_behind = { $points } punten achter { $reference } in week { $since } sinds go-live
alert_close = { $points } punten van { $reference } in week { $since } sinds go-live, binnen de grens
alert_passes_in = haalt het doel in { $week }
alert_passes_between = haalt het doel tussen { $earliest } en { $latest }
alert_passes_earliest = haalt het doel op zijn vroegst in { $week }
alert_passes_never = haalt het doel niet
alert_misses = prognose: in het huidige tempo { $when } ({ alert_figure }), na de doelweek; { $n } per week nodig
alert_on_track = prognose: { alert_figure } { $status ->
        [passing] boven het doel
        [on_track] op koers
       *[at_risk] in gevaar
    }
