alert_figure = { $figure ->
        [module_utilization] utilización de módulos
       *[active_licensee_rate] tasa de titulares activos
    }
alert_gain = { $figure ->
        [module_utilization] faltan { $n } módulos más en uso
       *[active_licensee_rate] faltan { $n } usuarios habituales más
    }
alert_below = { $weeks ->
        [1] { alert_figure } { $rate }, no por encima del objetivo de { $target }; { alert_gain }
       *[other] { alert_figure } { $rate }, no por encima del objetivo de { $target } durante { $weeks } semanas seguidas; { alert_gain }
    }
alert_above = { alert_figure } { $rate }, de nuevo por encima del objetivo de { $target }
alert_dropped = { alert_figure } bajó de { $before } a { $now } en { $week } ({ $points } puntos)
alert_held = { alert_figure } { $now } en { $week } tras { $before } la semana anterior
alert_behind = { $points } puntos por detrás de { $reference } en la semana { $since } desde la puesta en marcha
alert_close = { $points } puntos de { $reference } en la semana { $since } desde la puesta en marcha, dentro del límite
alert_passes_in = alcanza el objetivo en { $week }
alert_passes_between = alcanza el objetivo entre { $earliest } y { $latest }
alert_passes_earliest = alcanza el objetivo en { $week } como pronto
alert_passes_never = no alcanza el objetivo
alert_misses = previsión: al ritmo actual, { alert_figure } { $when }, después de la semana objetivo; se necesitan { $n } por semana
alert_on_track = previsión: { alert_figure } { $status ->
        [passing] por encima del objetivo
        [on_track] en camino
       *[at_risk] en riesgo
    }
