-- continues: segment_prelude.sql
-- Module adoption: one row per requested week, segment and module of L(t),
-- with the segment's inactive licensees and idle license cost.
, idle_cost AS (
    -- monthly cost of one licensee: the costs of L(t), an empty cost as 0
    SELECT week, sum(coalesce(cost_micros, 0)) AS cost_micros
    FROM licensed
    GROUP BY week
)
SELECT sw.week, sw.region, sw.department, sw.team, sw.wave,
       lm.module_id AS module, lm.name AS module_name,
       coalesce(f.eligible, 0) AS eligible,
       coalesce(mu.users, 0) AS module_users,
       rate_micros(coalesce(mu.users, 0), coalesce(f.eligible, 0)) AS module_adoption_micros,
       users_needed(coalesce(f.eligible, 0), $theta_num, $theta_den) AS users_needed,
       coalesce(mu.users, 0) >= users_needed(coalesce(f.eligible, 0), $theta_num, $theta_den)
           AS in_use,
       lm.monthly_cost_per_user,
       coalesce(f.inactive, 0) AS inactive_licensees,
       coalesce(f.inactive, 0) * ic.cost_micros AS idle_license_cost_micros
FROM segment_week sw
JOIN licensed lm ON lm.week = sw.week
JOIN idle_cost ic ON ic.week = sw.week
LEFT JOIN segment_figures f
  ON sw.region = f.region AND sw.department = f.department AND sw.team = f.team
 AND sw.wave = f.wave AND sw.week = f.week
LEFT JOIN module_users mu
  ON sw.region = mu.region AND sw.department = mu.department AND sw.team = mu.team
 AND sw.wave = mu.wave AND sw.week = mu.week AND lm.module_id = mu.module
ORDER BY sw.week, sw.region, sw.department, sw.team, sw.wave, lm.module_id
