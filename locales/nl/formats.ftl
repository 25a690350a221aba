# Getallen, bedragen en datums. De scheidingstekens van de cijfers komen uit
# CLDR (num-format); de patronen hieronder plaatsen het getal.

percent = { $number }%
money = € { $amount }
points_short = ptn
date_format = %d-%m-%Y
datetime_format = %d-%m-%Y %H:%M
