-- continues: segment_prelude.sql
-- The KPI table of SPEC.md section 5: one row per requested week and segment.
-- Rates are exact fractions rounded half up to millionths; success and
-- users to target compare exact fractions. Suppression happens afterwards.
, in_use AS (
    SELECT mu.region, mu.department, mu.team, mu.wave, mu.week, count(*) AS modules_in_use
    FROM module_users mu
    JOIN segment_figures f
      ON mu.region = f.region AND mu.department = f.department AND mu.team = f.team
     AND mu.wave = f.wave AND mu.week = f.week
    WHERE mu.users >= users_needed(f.eligible, $theta_num, $theta_den)
    GROUP BY mu.region, mu.department, mu.team, mu.wave, mu.week
),
licensed_count AS (
    SELECT week, count(*) AS modules_licensed FROM licensed GROUP BY week
),
counts AS (
    SELECT sw.week, sw.region, sw.department, sw.team, sw.wave,
           coalesce(f.eligible, 0) AS eligible,
           coalesce(f.regular, 0) AS regular,
           coalesce(lc.modules_licensed, 0) AS modules_licensed,
           coalesce(iu.modules_in_use, 0) AS modules_in_use
    FROM segment_week sw
    LEFT JOIN segment_figures f
      ON sw.region = f.region AND sw.department = f.department AND sw.team = f.team
     AND sw.wave = f.wave AND sw.week = f.week
    LEFT JOIN licensed_count lc ON sw.week = lc.week
    LEFT JOIN in_use iu
      ON sw.region = iu.region AND sw.department = iu.department AND sw.team = iu.team
     AND sw.wave = iu.wave AND sw.week = iu.week
)
SELECT week, region, department, team, wave, eligible, regular,
       rate_micros(regular, eligible) AS active_licensee_rate_micros,
       modules_licensed, modules_in_use,
       rate_micros(modules_in_use, modules_licensed) AS module_utilization_micros,
       greatest(0, ($alr_num * eligible) / $alr_den + 1 - regular) AS users_to_target,
       eligible > 0 AND regular * $alr_den > $alr_num * eligible
           AND modules_licensed > 0 AND modules_in_use * $mu_den > $mu_num * modules_licensed
           AS success
FROM counts
ORDER BY week, region, department, team, wave
