-- continues: segment_prelude.sql
-- Adoption curve: the active licensee rate of each segment (its wave among
-- the dimensions) by weeks since its wave's go-live. Week 0 is the ISO week
-- that contains go-live; weeks before it are left out.
, curve AS (
    SELECT sw.week, sw.region, sw.department, sw.team, sw.wave,
           sw.week - (CAST(w.go_live AS INT) + 3) / 7 AS weeks_since_go_live,
           coalesce(f.eligible, 0) AS eligible,
           coalesce(f.regular, 0) AS regular
    FROM segment_week sw
    JOIN waves w ON sw.wave = w.wave_id
    LEFT JOIN segment_figures f
      ON sw.region = f.region AND sw.department = f.department AND sw.team = f.team
     AND sw.wave = f.wave AND sw.week = f.week
)
SELECT week, region, department, team, wave, weeks_since_go_live, eligible, regular,
       rate_micros(regular, eligible) AS active_licensee_rate_micros
FROM curve
WHERE weeks_since_go_live >= 0
ORDER BY wave, weeks_since_go_live, region, department, team
