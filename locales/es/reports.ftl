organisation = La organización
whole_organisation = toda la organización
breakdown = Desglose
report_week = Semana
compared_with = Comparado con
time_zone = Zona horaria
generated = Generado
stored_events = Eventos guardados
data_ends = Los eventos guardados terminan antes de que acabe esta semana, por lo que sus cifras pueden estar incompletas: último evento el
summary = Objetivos
by_breakdown = Por segmento, semana
highlights_since = Objetivos alcanzados desde
no_highlights = Ningún segmento ha alcanzado un objetivo desde el informe anterior.
trend_title = Tasa de titulares activos y utilización de módulos
curve_title = Curva de adopción por ola
lagging_title = Segmentos rezagados, semana
segments_suppressed = segmentos son demasiado pequeños para mostrarse
modules_title = Adopción de módulos, semana
module_map_title = Adopción de módulos por segmento, semana
page = Página
of = de
highlight = Objetivo alcanzado
and_more = y además:
forecast_title = Previsión (no medida): los objetivos al ritmo actual, desde
forecast_note = Una previsión, no una cifra medida: el ritmo lineal de la tasa en las últimas 4 y 8 semanas da el intervalo de semanas en que se alcanza el objetivo; supone que los titulares siguen siendo los mismos.

highlight_passed = { $segment } superó el objetivo de { $target } { $figure ->
        [module_utilization] de utilización de módulos
       *[active_licensee_rate] de la tasa de titulares activos
    }: { $value } ({ $previous } en { $since }).

behind_none = Ninguna ola está más de { $points } puntos porcentuales por detrás de la ola de referencia { $reference }.
behind_some = Más de { $points } puntos porcentuales por detrás de la ola de referencia { $reference }: { $waves }.
behind_one = { $wave } ({ $gap } puntos porcentuales, semana { $since } desde la puesta en marcha)
