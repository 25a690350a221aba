organisation = Organisationen
whole_organisation = hele organisationen
breakdown = Opdeling
report_week = Uge
compared_with = Sammenlignet med
time_zone = Tidszone
generated = Oprettet
stored_events = Gemte hændelser
data_ends = De gemte hændelser slutter, før denne uge er omme, så dens tal kan være ufuldstændige: seneste hændelse den
summary = Mål
by_breakdown = Efter segment, uge
highlights_since = Mål nået siden
no_highlights = Intet segment har nået et mål siden den forrige rapport.
trend_title = Andel aktive licenstagere og moduludnyttelse
curve_title = Adoptionskurve pr. bølge
lagging_title = Segmenter bagud, uge
segments_suppressed = segmenter er for små til at blive vist
modules_title = Modulanvendelse, uge
module_map_title = Modulanvendelse efter segment, uge
page = Side
of = af
highlight = Mål nået
and_more = og flere:
forecast_title = Prognose (ikke målt): målene i det nuværende tempo, fra
forecast_note = En prognose, ikke et målt tal: andelens lineære tempo over de seneste 4 og 8 uger giver det interval af uger, hvor målet nås; den antager, at licenstagerne forbliver de samme.

highlight_passed = { $segment } har passeret målet på { $target } for { $figure ->
        [module_utilization] moduludnyttelse
       *[active_licensee_rate] andelen af aktive licenstagere
    }: { $value } ({ $previous } i { $since }).

behind_none = Ingen bølge ligger mere end { $points } procentpoint bag referencebølgen { $reference }.
behind_some = Mere end { $points } procentpoint bag referencebølgen { $reference }: { $waves }.
behind_one = { $wave } ({ $gap } procentpoint, uge { $since } siden go-live)
