-- continues: nothing (a whole query)
-- What is stored, and the data-quality figures of SPEC.md section 3: events
-- of ids not in the directory and of modules not in the catalog.
SELECT count(*) AS events,
       count(DISTINCT e.user_id) AS distinct_users,
       sum(CASE WHEN d.user_id IS NULL THEN 1 ELSE 0 END) AS events_of_unknown_users,
       count(DISTINCT CASE WHEN d.user_id IS NULL THEN e.user_id END) AS unknown_user_ids,
       sum(CASE WHEN m.module_id IS NULL THEN 1 ELSE 0 END) AS events_of_unknown_modules,
       count(DISTINCT CASE WHEN m.module_id IS NULL THEN e.module END) AS unknown_module_ids,
       CAST(max(e.event_time) AS BIGINT) AS last_event_micros
FROM events e
LEFT JOIN directory d ON e.user_id = d.user_id
LEFT JOIN modules m ON e.module = m.module_id
