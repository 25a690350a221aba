-- N, R and inactive licensees for every finest segment (region, department,
-- team, wave) and week. Counts of disjoint sets of users add up, so every
-- coarser segment's figures are sums of these (see segment_prelude.sql).
SELECT region, department, team, wave, week, eligible, regular, inactive
FROM segment_figures
