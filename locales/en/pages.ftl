# The words of the web pages: navigation, filters, panels, sign-in, the
# reports, subscriptions, alerts and audit pages.

language = Language
filters = Filters
filter = Filter
apply = Apply
all = all
from = From week
to = To week
reset = Reset filters
weeks = Weeks
in_week = Week
trend = Trend
target = Target
passed = target passed
missed = below target
vs_previous = vs. previous week
vs = vs.
rows_shown = rows shown of
target_line = target
mu_target_share = target share of licensed
no_data = No data for this selection
suppressed_note = Suppressed: fewer licensees than the minimum group size, so no figures are shown.
error = The request cannot be shown
no_events = No events are stored yet. Import data with `uptake import`.
pdf_reports = PDF reports for these weeks
open_pdf = Open the PDF
open_dashboard = Open the dashboard
open_alerts = Open the alerts

# Signing in.
sign_in = Sign in
sign_out = Sign out
user = User
password = Password
wrong_password = Wrong user or password.
locked_out = Too many failed attempts; try again later.
too_many_sign_ins = Too many failed sign-ins from this address; try again in 15 minutes.
form_expired = This sign-in form has expired or came from another site; please sign in again.
busy = Many sign-ins at once; please try again in a moment.
audit_log = Audit log

# The reports page.
reports = Reports
report = Report
schedule = Schedule
next_run = Next run
delivered_to = Delivered to
download = Download
runs = Runs
no_run_yet = No scheduled run yet.
run = Run
status = Status
attempts = Attempts
last_error = Last error
next_attempt = Next attempt
caught_up = (caught up)
missed_runs = Missed runs

# Subscriptions.
subscriptions = Subscriptions
subscription_for = For
subscription_for_user_or_list = For user or list
subscribe = Subscribe
unsubscribe = Unsubscribe
unsubscribed = Unsubscribed
schedule_weekly = Weekly, Monday 07:00
schedule_daily = Workdays 07:00
schedule_biweekly = 1st and 15th of the month, 07:00
schedule_monthly = Monthly, 1st at 07:00
schedule_cron = Cron expression:
subscription_needs_email = Subscriptions are sent by e-mail; your user has no e-mail address yet (an admin adds it).
subscription_note = Reports are sent by e-mail over your scope, in the organisation's time zone ({ $zone }).
unsubscribe_report = the report “{ $title }” ({ $schedule })
unsubscribe_mails = the mails of { $what } to { $address }
unsubscribe_question = Stop receiving { $what }?
subscription_gone = This subscription no longer exists.
unsubscribed_done = You will not receive these mails any more.

# Alerts.
alerts = Alerts
alert = Alert
alert_new = new
alert_resolved = resolved
alerts_none_in_scope = No alert is on for this scope.
alerts_since = since
alerts_active_count = active alerts
alerts_active = Active alerts
alerts_past = Past notices
alerts_defined = Alerts defined
alert_condition = Condition
alert_since = Since
alert_segment = Segment
alert_message = Message
alert_none_active = No alert is active.
