# The figures of SPEC.md, the dimensions and the forecast's words: column
# labels of tables, charts, PDFs and cards.

region = Region
department = Department
team = Team
wave = Wave
week = Week
eligible = Eligible licensees
regular = Regular users
active_licensee_rate = Active licensee rate
modules_licensed = Modules licensed
modules_in_use = Modules in use
module_utilization = Module utilization
users_to_target = Users to target
success = Success
below_target = Below target
module = Module
module_name = Module name
monthly_cost_per_user = Monthly cost per user
module_users = Module users
module_adoption = Module adoption
in_use = In use
inactive_licensees = Inactive licensees
idle_license_cost = Idle license cost per month
weeks_since_go_live = Weeks since go-live
true = yes
false = no
none = none
suppressed = suppressed

# Forecasts: labelled as such in every column.
measured_rate = Measured
target_rate = Target rate
forecast_status = Forecast
forecast_pace_4_weeks = Forecast pace, 4 weeks
forecast_pace_8_weeks = Forecast pace, 8 weeks
forecast_pass_earliest = Forecast: passed from (faster pace)
forecast_pass_latest = Forecast: passed from (slower pace)
target_week = Target week
forecast_needed_per_week = Forecast: needed per week
passing = passing now
on_track = on track
at_risk = at risk
behind = behind
rising = rising
not_rising = not rising
too_little_history = too little history

# The wave-versus-pilot comparison.
reference_wave = Reference wave
gap_to_reference = Gap to the reference wave
behind_reference = Behind the reference wave
