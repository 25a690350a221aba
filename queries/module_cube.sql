-- continues: licensee_prelude.sql
-- materialized as: module_cube
-- U_m for every finest segment, week and module of L(t).
SELECT s.region, s.department, s.team, s.wave, u.week, lm.module_id AS module, u.users
FROM module_users u
JOIN finest_segment s ON u.segment_key = s.segment_key
JOIN licensed lm ON lm.week = u.week AND lm.module_key = u.module_key
