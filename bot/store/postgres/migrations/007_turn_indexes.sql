-- The indexes every turn's read needs (SQLite's 007).
CREATE INDEX cases_customer ON cases(customer_id);
CREATE INDEX events_case_time ON events(case_id, at, id);
DROP INDEX events_case;
CREATE INDEX incidents_state ON incidents(state);
