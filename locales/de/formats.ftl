# Zahlen, Beträge und Daten. Die Trennzeichen der Ziffern kommen aus CLDR
# (num-format); die Muster hier stellen die Zahl an ihren Platz.

percent = { $number } %
money = { $amount } €
points_short = Pp.
date_format = %d.%m.%Y
datetime_format = %d.%m.%Y %H:%M
