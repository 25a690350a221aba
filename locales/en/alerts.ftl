# The messages of alerts: $figure is active_licensee_rate or
# module_utilization; rates and points come written in this language.

alert_figure = { $figure ->
        [module_utilization] module utilization
       *[active_licensee_rate] active licensee rate
    }
alert_gain = { $figure ->
        [module_utilization] { $n } more modules in use needed
       *[active_licensee_rate] { $n } more regular users needed
    }
alert_below = { $weeks ->
        [1] { alert_figure } { $rate }, not above the target of { $target }; { alert_gain }
       *[other] { alert_figure } { $rate }, not above the target of { $target } for { $weeks } weeks in a row; { alert_gain }
    }
alert_above = { alert_figure } { $rate }, above the target of { $target } again
alert_dropped = { alert_figure } fell from { $before } to { $now } in { $week } ({ $points } points)
alert_held = { alert_figure } { $now } in { $week } after { $before } the week before
alert_behind = { $points } points behind { $reference } at week { $since } since go-live
alert_close = { $points } points from { $reference } at week { $since } since go-live, within the limit
alert_passes_in = passes the target in { $week }
alert_passes_between = passes the target between { $earliest } and { $latest }
alert_passes_earliest = passes the target in { $week } at the earliest
alert_passes_never = does not pass the target
alert_misses = forecast: at the current pace the { alert_figure } { $when }, after the target week; { $n } per week needed
alert_on_track = forecast: { alert_figure } { $status ->
        [passing] passing
        [on_track] on track
       *[at_risk] at risk
    }
