-- continues: licensee_prelude.sql
-- materialized as: segment_cube
-- N, R and inactive licensees for every finest segment (region, department,
-- team, wave) and week. Counts of disjoint sets of users add up, so every
-- coarser segment's figures are sums of these (see segment_prelude.sql).
SELECT s.region, s.department, s.team, s.wave, f.week, f.eligible, f.regular, f.inactive
FROM segment_figures f
JOIN finest_segment s ON f.segment_key = s.segment_key
