organisation = De organisatie
whole_organisation = hele organisatie
breakdown = Uitsplitsing
report_week = Week
compared_with = Vergeleken met
time_zone = Tijdzone
generated = Gemaakt
stored_events = Opgeslagen gebeurtenissen
data_ends = De opgeslagen gebeurtenissen eindigen voordat deze week voorbij is, dus de cijfers kunnen onvolledig zijn: laatste gebeurtenis op
summary = Doelen
by_breakdown = Per segment, week
highlights_since = Doelen gehaald sinds
no_highlights = Geen segment heeft sinds het vorige rapport een doel gehaald.
trend_title = Aandeel actieve licentiehouders en modulebenutting
curve_title = Adoptiecurve per golf
lagging_title = Achterblijvende segmenten, week
segments_suppressed = segmenten zijn te klein om te tonen
modules_title = Modulegebruik, week
module_map_title = Modulegebruik per segment, week
page = Pagina
of = van
highlight = Doel gehaald
and_more = en meer:
forecast_title = Prognose (niet gemeten): de doelen in het huidige tempo, vanaf
forecast_note = Een prognose, geen gemeten cijfer: het lineaire tempo van het aandeel over de laatste 4 en 8 weken geeft de reeks weken waarin het doel wordt gehaald; ze gaat ervan uit dat de licentiehouders blijven zoals ze zijn.

highlight_passed = { $segment } heeft het doel van { $target } voor { $figure ->
        [module_utilization] modulebenutting
       *[active_licensee_rate] het aandeel actieve licentiehouders
    } gehaald: { $value } ({ $previous } in { $since }).

behind_none = Geen golf ligt meer dan { $points } procentpunten achter de referentiegolf { $reference }.
behind_some = Meer dan { $points } procentpunten achter de referentiegolf { $reference }: { $waves }.
behind_one = { $wave } ({ $gap } procentpunten, week { $since } sinds go-live)
