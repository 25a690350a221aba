# The words of PDF reports, their mails and chat cards.

organisation = The organisation
whole_organisation = whole organisation
breakdown = Breakdown
report_week = Week
compared_with = Compared with
time_zone = Time zone
generated = Generated
stored_events = Events stored
data_ends = Stored events end before this week is over, so its figures may be incomplete: last event on
summary = Targets
by_breakdown = By segment, week
highlights_since = Targets passed since
no_highlights = No segment passed a target since the previous report.
trend_title = Active licensee rate and module utilization
curve_title = Adoption curve per wave
lagging_title = Lagging segments, week
segments_suppressed = segments are too small to be shown
modules_title = Module adoption, week
module_map_title = Module adoption by segment, week
page = Page
of = of
highlight = Target passed
and_more = and more:
forecast_title = Forecast (not measured): the targets at the current pace, from
forecast_note = A forecast, not a measured figure: the rate's straight-line pace over the last 4 and 8 weeks gives the range of weeks in which the target is passed; it assumes the licensees stay as they are.

# A segment that passed a target since the last report.
highlight_passed = { $segment } passed { $target } { $figure ->
        [module_utilization] module utilization
       *[active_licensee_rate] active licensee rate
    }: { $value } ({ $previous } in { $since }).

# The waves behind the reference wave ($points: the limit, in points).
behind_none = No wave is more than { $points } percentage points behind the reference wave { $reference }.
behind_some = More than { $points } percentage points behind the reference wave { $reference }: { $waves }.
behind_one = { $wave } ({ $gap } percentage points, week { $since } since go-live)
