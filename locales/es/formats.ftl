# Números, importes y fechas. Los separadores de las cifras vienen de CLDR
# (num-format); los patrones de abajo colocan la cifra.

percent = { $number } %
money = { $amount } €
points_short = p. p.
date_format = %d/%m/%Y
datetime_format = %d/%m/%Y %H:%M
