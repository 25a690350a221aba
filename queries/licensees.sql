-- continues: licensee_prelude.sql
-- User-level view (privacy.user_level_views, admins only): every licensee
-- eligible in the week $from_week (= $to_week) with their active weeks in
-- the window and whether they are regular users (SPEC.md section 2).
--
-- Parameters: those of licensee_prelude.sql, and the filters
-- $only_region, $only_department, $only_wave ('' keeps all).
, licensee_in_week AS (
    SELECT l.user_id, l.user_key, l.segment_key, t.week,
           least($window, t.week - l.e_week + 1) AS eligible_weeks
    FROM licensee l
    CROSS JOIN week_range t
    WHERE l.e_day <= t.week * 7 + 3
      AND (l.end_day IS NULL OR l.end_day >= t.week * 7 + 3)
)
SELECT u.week, u.user_id, s.region, s.department, s.team, s.wave,
       coalesce(wa.active_weeks, 0) AS active_weeks,
       coalesce(wa.active_weeks, 0) >= least($min_active, u.eligible_weeks) AS regular
FROM licensee_in_week u
JOIN finest_segment s ON u.segment_key = s.segment_key
LEFT JOIN window_activity wa ON u.user_key = wa.user_key AND u.week = wa.week
WHERE ($only_region = '' OR s.region = $only_region)
  AND ($only_department = '' OR s.department = $only_department)
  AND ($only_wave = '' OR s.wave = $only_wave)
ORDER BY s.region, s.department, s.team, s.wave, u.user_id
