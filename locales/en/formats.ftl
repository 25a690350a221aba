# How numbers, amounts and dates are written. The digits' separators come
# from CLDR (num-format); the patterns below place the figure.

# A rate, $number already written with this language's separators.
percent = { $number }%
# An amount of euros, $amount with cents.
money = €{ $amount }
# Percentage points, short (a change in the tiles).
points_short = pts
# A date and a time (chrono's format: %d day, %m month, %Y year, %H:%M time).
date_format = %Y-%m-%d
datetime_format = %Y-%m-%d %H:%M
