-- continues: segment_prelude.sql
-- What protection against differencing audits (src/kpi/protect): the users
-- of each module of L(t) in every finest segment and week of the range
-- where anyone used it, within the caller's scope. Run with every $by_*
-- true and no filter.
SELECT week, region, department, team, wave, module, users
FROM module_users
ORDER BY week, region, department, team, wave, module
