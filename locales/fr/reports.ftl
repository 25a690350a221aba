organisation = L’organisation
whole_organisation = toute l’organisation
breakdown = Ventilation
report_week = Semaine
compared_with = Comparé à
time_zone = Fuseau horaire
generated = Généré
stored_events = Événements enregistrés
data_ends = Les événements enregistrés s’arrêtent avant la fin de cette semaine, ses chiffres peuvent donc être incomplets : dernier événement le
summary = Objectifs
by_breakdown = Par segment, semaine
highlights_since = Objectifs atteints depuis
no_highlights = Aucun segment n’a atteint d’objectif depuis le rapport précédent.
trend_title = Taux de titulaires actifs et utilisation des modules
curve_title = Courbe d’adoption par vague
lagging_title = Segments en retard, semaine
segments_suppressed = segments sont trop petits pour être affichés
modules_title = Adoption des modules, semaine
module_map_title = Adoption des modules par segment, semaine
page = Page
of = sur
highlight = Objectif atteint
and_more = et aussi :
forecast_title = Prévision (non mesurée) : les objectifs au rythme actuel, à partir de
forecast_note = Une prévision, pas un chiffre mesuré : le rythme linéaire du taux sur les 4 et 8 dernières semaines donne la fourchette des semaines où l’objectif est atteint ; elle suppose que les titulaires restent les mêmes.

highlight_passed = { $segment } a dépassé l’objectif de { $target } { $figure ->
        [module_utilization] d’utilisation des modules
       *[active_licensee_rate] du taux de titulaires actifs
    } : { $value } ({ $previous } en { $since }).

behind_none = Aucune vague n’a plus de { $points } points de pourcentage de retard sur la vague de référence { $reference }.
behind_some = Plus de { $points } points de pourcentage de retard sur la vague de référence { $reference } : { $waves }.
behind_one = { $wave } ({ $gap } points de pourcentage, semaine { $since } depuis le lancement)
