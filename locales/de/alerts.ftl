alert_figure = { $figure ->
        [module_utilization] Modulnutzung
       *[active_licensee_rate] Aktive Lizenznehmerquote
    }
alert_gain = { $figure ->
        [module_utilization] { $n } weitere genutzte Module nötig
       *[active_licensee_rate] { $n } weitere regelmäßige Nutzer nötig
    }
alert_below = { $weeks ->
        [1] { alert_figure } { $rate }, nicht über dem Ziel von { $target }; { alert_gain }
       *[other] { alert_figure } { $rate }, seit { $weeks } Wochen nicht über dem Ziel von { $target }; { alert_gain }
    }
alert_above = { alert_figure } { $rate }, wieder über dem Ziel von { $target }
alert_dropped = { alert_figure } fiel in { $week } von { $before } auf { $now } ({ $points } Prozentpunkte)
alert_held = { alert_figure } { $now } in { $week } nach { $before } in der Vorwoche
alert_behind = { $points } Prozentpunkte hinter { $reference } in Woche { $since } nach dem Go-live
alert_close = { $points } Prozentpunkte von { $reference } in Woche { $since } nach dem Go-live, im Rahmen
alert_passes_in = erreicht das Ziel in { $week }
alert_passes_between = erreicht das Ziel zwischen { $earliest } und { $latest }
alert_passes_earliest = erreicht das Ziel frühestens in { $week }
alert_passes_never = erreicht das Ziel nicht
alert_misses = Prognose: beim jetzigen Tempo { $when } ({ alert_figure }), nach der Zielwoche; { $n } pro Woche nötig
alert_on_track = Prognose: { alert_figure } { $status ->
        [passing] über dem Ziel
        [on_track] auf Kurs
       *[at_risk] gefährdet
    }
