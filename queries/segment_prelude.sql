-- Segments as asked for, summed from the cube tables (segment_cube,
-- module_cube), shared by kpi.sql and modules.sql.
--
-- Parameters:
--   $from_week, $to_week        requested weeks (week numbers, inclusive)
--   $by_region, $by_department, $by_team, $by_wave
--                               which dimensions make a segment; a dimension
--                               not asked for is the constant ''
--   $theta_num / $theta_den     module.min_user_share as an exact fraction
--   $alr_num / $alr_den         targets.active_licensee_rate
--   $mu_num / $mu_den           targets.module_utilization
WITH
week_range AS (
    SELECT unnest(range($from_week, $to_week + 1)) AS week
),
-- Every combination of dimension values present in the directory.
segment AS (
    SELECT DISTINCT
           CASE WHEN $by_region THEN region ELSE '' END AS region,
           CASE WHEN $by_department THEN department ELSE '' END AS department,
           CASE WHEN $by_team THEN team ELSE '' END AS team,
           CASE WHEN $by_wave THEN wave ELSE '' END AS wave
    FROM directory
),
segment_week AS (
    SELECT s.region, s.department, s.team, s.wave, t.week
    FROM segment s
    CROSS JOIN week_range t
),
segment_figures AS (
    SELECT CASE WHEN $by_region THEN region ELSE '' END AS region,
           CASE WHEN $by_department THEN department ELSE '' END AS department,
           CASE WHEN $by_team THEN team ELSE '' END AS team,
           CASE WHEN $by_wave THEN wave ELSE '' END AS wave,
           week,
           sum(eligible) AS eligible,
           sum(regular) AS regular,
           sum(inactive) AS inactive
    FROM segment_cube
    WHERE week BETWEEN $from_week AND $to_week
    GROUP BY 1, 2, 3, 4, 5
),
module_users AS (
    SELECT CASE WHEN $by_region THEN region ELSE '' END AS region,
           CASE WHEN $by_department THEN department ELSE '' END AS department,
           CASE WHEN $by_team THEN team ELSE '' END AS team,
           CASE WHEN $by_wave THEN wave ELSE '' END AS wave,
           week,
           module,
           sum(users) AS users
    FROM module_cube
    WHERE week BETWEEN $from_week AND $to_week
    GROUP BY 1, 2, 3, 4, 5, 6
),
-- L(t): catalog modules licensed on sunday(t).
licensed AS (
    SELECT t.week, m.module_id, m.name, m.monthly_cost_per_user, m.cost_micros
    FROM modules m
    CROSS JOIN week_range t
    WHERE CAST(m.licensed_from AS INT) <= t.week * 7 + 3
      AND (m.licensed_until IS NULL OR CAST(m.licensed_until AS INT) >= t.week * 7 + 3)
)
