# Tal, beløb og datoer. Cifrenes skilletegn kommer fra CLDR (num-format);
# mønstrene herunder placerer tallet.

percent = { $number } %
money = { $amount } €
points_short = pp.
date_format = %d.%m.%Y
datetime_format = %d.%m.%Y %H.%M
