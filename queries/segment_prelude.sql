-- prelude: the start of a WITH clause that queries continue
-- Segments as asked for, summed from the cube tables (segment_cube,
-- module_cube), shared by kpi.sql and modules.sql.
--
-- Parameters:
--   $from_week, $to_week        requested weeks (week numbers, inclusive)
--   $by_region, $by_department, $by_team, $by_wave
--                               which dimensions make a segment; a dimension
--                               not asked for is the constant ''
--   $only_region, $only_department, $only_wave
--                               filters: only licensees with this value
--                               ('' keeps all; these values are never empty)
--   $scope_regions, $scope_departments
--                               a viewer's scope: the allowed values, each
--                               enclosed in the unit separator chr(31)
--                               ('\x1fDACH\x1fNordics\x1f'); '' allows all
--   $theta_num / $theta_den     module.min_user_share as an exact fraction
--
-- Functions (src/engine/functions.rs): rate_micros(part, whole) rounds a
-- rate half up to millionths; users_needed(eligible, num, den) is the users
-- a module needs to count as in use, max(1, ceil(theta * eligible)).
--   $alr_num / $alr_den         targets.active_licensee_rate
--   $mu_num / $mu_den           targets.module_utilization
WITH
week_range AS (
    SELECT unnest(range($from_week, $to_week + 1)) AS week
),
-- Each finest segment of the directory (region, department, team, wave)
-- with the segment it belongs to as asked: a dimension not asked for is the
-- constant ''.
segment_of AS (
    SELECT DISTINCT region, department, team, wave,
           CASE WHEN $by_region THEN region ELSE '' END AS s_region,
           CASE WHEN $by_department THEN department ELSE '' END AS s_department,
           CASE WHEN $by_team THEN team ELSE '' END AS s_team,
           CASE WHEN $by_wave THEN wave ELSE '' END AS s_wave
    FROM directory
    WHERE ($only_region = '' OR region = $only_region)
      AND ($only_department = '' OR department = $only_department)
      AND ($only_wave = '' OR wave = $only_wave)
      AND ($scope_regions = ''
           OR strpos($scope_regions, chr(31) || region || chr(31)) > 0)
      AND ($scope_departments = ''
           OR strpos($scope_departments, chr(31) || department || chr(31)) > 0)
),
-- Every combination of dimension values present in the directory.
segment AS (
    SELECT DISTINCT s_region AS region, s_department AS department, s_team AS team,
           s_wave AS wave
    FROM segment_of
),
segment_week AS (
    SELECT s.region, s.department, s.team, s.wave, t.week
    FROM segment s
    CROSS JOIN week_range t
),
segment_figures AS (
    SELECT g.s_region AS region, g.s_department AS department, g.s_team AS team,
           g.s_wave AS wave, c.week,
           sum(c.eligible) AS eligible,
           sum(c.regular) AS regular,
           sum(c.inactive) AS inactive
    FROM segment_cube c
    JOIN segment_of g
      ON c.region = g.region AND c.department = g.department AND c.team = g.team
     AND c.wave = g.wave
    WHERE c.week BETWEEN $from_week AND $to_week
      -- segment_of's filters once more, on the cube's rows: the join
      -- drops the others anyway, but comparing is cheaper than hashing
      -- every row of the range.
      AND ($only_region = '' OR c.region = $only_region)
      AND ($only_department = '' OR c.department = $only_department)
      AND ($only_wave = '' OR c.wave = $only_wave)
    GROUP BY g.s_region, g.s_department, g.s_team, g.s_wave, c.week
),
module_users AS (
    SELECT g.s_region AS region, g.s_department AS department, g.s_team AS team,
           g.s_wave AS wave, c.week, c.module,
           sum(c.users) AS users
    FROM module_cube c
    JOIN segment_of g
      ON c.region = g.region AND c.department = g.department AND c.team = g.team
     AND c.wave = g.wave
    WHERE c.week BETWEEN $from_week AND $to_week
      AND ($only_region = '' OR c.region = $only_region)
      AND ($only_department = '' OR c.department = $only_department)
      AND ($only_wave = '' OR c.wave = $only_wave)
    GROUP BY g.s_region, g.s_department, g.s_team, g.s_wave, c.week, c.module
),
-- L(t): catalog modules licensed on sunday(t).
licensed AS (
    SELECT t.week, m.module_id, m.name, m.monthly_cost_per_user, m.cost_micros
    FROM modules m
    CROSS JOIN week_range t
    WHERE CAST(m.licensed_from AS INT) <= t.week * 7 + 3
      AND (m.licensed_until IS NULL OR CAST(m.licensed_until AS INT) >= t.week * 7 + 3)
)
