organisation = Die Organisation
whole_organisation = gesamte Organisation
breakdown = Aufschlüsselung
report_week = Woche
compared_with = Verglichen mit
time_zone = Zeitzone
generated = Erstellt
stored_events = Gespeicherte Ereignisse
data_ends = Die gespeicherten Ereignisse enden vor dem Ende dieser Woche, die Zahlen können unvollständig sein: letztes Ereignis am
summary = Ziele
by_breakdown = Nach Segment, Woche
highlights_since = Ziele erreicht seit
no_highlights = Seit dem letzten Bericht hat kein Segment ein Ziel neu erreicht.
trend_title = Quote aktiver Lizenznehmer und Modulauslastung
curve_title = Adoptionskurve je Welle
lagging_title = Segmente unter dem Ziel, Woche
segments_suppressed = Segmente sind zu klein, um gezeigt zu werden
modules_title = Modulnutzung, Woche
module_map_title = Modulnutzung nach Segment, Woche
page = Seite
of = von
highlight = Ziel erreicht
and_more = und weitere:
forecast_title = Prognose (nicht gemessen): die Ziele im aktuellen Tempo, ab
forecast_note = Eine Prognose, keine Messung: das lineare Tempo der Quote über die letzten 4 und 8 Wochen ergibt die Spanne der Wochen, in denen das Ziel erreicht wird; sie nimmt an, dass die Lizenznehmer bleiben, wie sie sind.

highlight_passed = { $segment } hat das Ziel von { $target } { $figure ->
        [module_utilization] der Modulauslastung
       *[active_licensee_rate] der Quote aktiver Lizenznehmer
    } überschritten: { $value } ({ $previous } in { $since }).

behind_none = Keine Welle liegt mehr als { $points } Prozentpunkte hinter der Referenzwelle { $reference }.
behind_some = Mehr als { $points } Prozentpunkte hinter der Referenzwelle { $reference }: { $waves }.
behind_one = { $wave } ({ $gap } Prozentpunkte, Woche { $since } seit Go-live)
