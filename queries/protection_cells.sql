-- continues: segment_prelude.sql
-- What protection against differencing audits (src/kpi/protect): N, R and
-- inactive licensees of every finest segment with licensees and week of
-- the range, within the caller's scope. Run with every $by_* true and no
-- filter.
SELECT week, region, department, team, wave, eligible, regular, inactive
FROM segment_figures
ORDER BY week, region, department, team, wave
