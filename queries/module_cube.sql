-- U_m for every finest segment, week and module of L(t).
SELECT region, department, team, wave, week, module, users
FROM module_users
