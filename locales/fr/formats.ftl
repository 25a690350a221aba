# Nombres, montants et dates. Les séparateurs des chiffres viennent de CLDR
# (num-format) ; les modèles ci-dessous placent le nombre.

percent = { $number } %
money = { $amount } €
points_short = pts
date_format = %d/%m/%Y
datetime_format = %d/%m/%Y %H:%M
