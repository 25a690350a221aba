-- prelude: the start of a WITH clause that queries continue
-- Per-licensee definitions of SPEC.md section 2, shared by the cube
-- queries (segment_cube.sql, module_cube.sql).
--
-- Dates are day numbers (days since 1970-01-01) and weeks are week numbers
-- (ISO weeks since the week of 1970-01-01): week t runs from day 7t-3
-- (Monday) to day 7t+3 (Sunday, `sunday(t)`, src/engine/functions.rs).
-- Stored dates are from 1970 on, so integer division and remainder need no
-- care for negative numbers.
--
-- Parameters:
--   $from_week, $to_week        weeks to compute (week numbers, inclusive)
--   $window                     W, regular.window_weeks
--   $min_active                 K, regular.min_active_weeks
WITH
-- The finest segments: every combination of region, department, team and
-- wave in the directory, numbered so that the per-licensee work below
-- carries one integer instead of four strings.
finest_segment AS (
    SELECT region, department, team, wave,
           CAST(row_number() OVER (ORDER BY region, department, team, wave) AS INT)
               AS segment_key
    FROM (SELECT DISTINCT region, department, team, wave FROM directory)
),
licensee_dates AS (
    SELECT d.user_id, k.user_key, s.segment_key,
           -- e_u: eligible from, the later of license start and go-live
           greatest(CAST(d.license_start AS INT), CAST(w.go_live AS INT)) AS e_day,
           CAST(d.license_end AS INT) AS end_day
    FROM directory d
    JOIN waves w ON d.wave = w.wave_id
    JOIN finest_segment s
      ON d.region = s.region AND d.department = s.department AND d.team = s.team
     AND d.wave = s.wave
    -- the rollup's key of the user; none when the user has no events
    LEFT JOIN rollup_users k ON d.user_id = k.user_id
),
licensee AS (
    SELECT user_id, user_key, segment_key, e_day, end_day,
           (e_day + 3) / 7 AS e_week,
           -- day of week of e_u, 0 = Monday: bits below it in a week's day
           -- mask are days before e_u
           (e_day + 3) % 7 AS e_dow
    FROM licensee_dates
),
week_range AS (
    SELECT unnest(range($from_week, $to_week + 1)) AS week
),
window_shift AS (
    SELECT unnest(range(0, $window)) AS shift
),
-- Eligible licensees per week, with E_u(t): their eligible weeks in the
-- window (the window weeks whose Sunday is on or after e_u).
eligible AS (
    SELECT l.user_key, l.segment_key, t.week,
           least($window, t.week - l.e_week + 1) AS eligible_weeks
    FROM licensee l
    CROSS JOIN week_range t
    WHERE l.e_day <= sunday(t.week)
      AND (l.end_day IS NULL OR l.end_day >= sunday(t.week))
),
-- Weeks with a counted event: qualifying (the rollup holds only those) and
-- on a local date on or after e_u.
active_week AS (
    SELECT u.user_key, u.week
    FROM user_week u
    JOIN licensee l ON u.user_key = l.user_key
    WHERE u.week BETWEEN $from_week - $window + 1 AND $to_week
      AND (u.week > l.e_week OR (u.week = l.e_week AND (u.day_mask >> l.e_dow) > 0))
),
-- Active weeks of each user in the window of each requested week.
window_activity AS (
    SELECT a.user_key, a.week + s.shift AS week, count(*) AS active_weeks
    FROM active_week a
    CROSS JOIN window_shift s
    WHERE a.week + s.shift BETWEEN $from_week AND $to_week
    GROUP BY a.user_key, a.week + s.shift
),
licensee_week AS (
    SELECT e.segment_key, e.week,
           coalesce(wa.active_weeks, 0) AS active_weeks,
           coalesce(wa.active_weeks, 0) >= least($min_active, e.eligible_weeks) AS is_regular
    FROM eligible e
    LEFT JOIN window_activity wa ON e.user_key = wa.user_key AND e.week = wa.week
),
-- N, R and inactive licensees per finest segment and week.
segment_figures AS (
    SELECT segment_key, week,
           count(*) AS eligible,
           sum(CASE WHEN is_regular THEN 1 ELSE 0 END) AS regular,
           sum(CASE WHEN active_weeks = 0 THEN 1 ELSE 0 END) AS inactive
    FROM licensee_week
    GROUP BY segment_key, week
),
-- L(t): catalog modules licensed on the Sunday of week t.
licensed AS (
    SELECT t.week, m.module_id, k.module_key
    FROM modules m
    LEFT JOIN rollup_modules k ON m.module_id = k.module
    CROSS JOIN week_range t
    WHERE CAST(m.licensed_from AS INT) <= sunday(t.week)
      AND (m.licensed_until IS NULL OR CAST(m.licensed_until AS INT) >= sunday(t.week))
),
-- The weeks with a counted event in a module, as the bits of one integer
-- per licensee and module: bit i stands for week $from_week - $window + 1 + i.
-- The caller keeps $to_week - $from_week + $window within 63 bits.
module_weeks AS (
    SELECT u.user_key, u.module_key,
           bit_or(CAST(1 AS BIGINT) << (u.week - ($from_week - $window + 1))) AS weeks
    FROM user_module_week u
    JOIN licensee l ON u.user_key = l.user_key
    WHERE u.week BETWEEN $from_week - $window + 1 AND $to_week
      AND (u.week > l.e_week OR (u.week = l.e_week AND (u.day_mask >> l.e_dow) > 0))
    GROUP BY u.user_key, u.module_key
),
-- U_m(s,t): eligible licensees with a counted event in the module in one of
-- the W weeks ending with t (bits t - $from_week to t - $from_week + W - 1).
module_users AS (
    SELECT e.segment_key, e.week, mw.module_key, count(*) AS users
    FROM eligible e
    JOIN module_weeks mw ON e.user_key = mw.user_key
    WHERE (mw.weeks >> (e.week - $from_week)) & ((CAST(1 AS BIGINT) << $window) - 1) <> 0
    GROUP BY e.segment_key, e.week, mw.module_key
)
