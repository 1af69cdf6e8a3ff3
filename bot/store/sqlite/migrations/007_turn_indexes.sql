-- Every turn reads the customer's latest case, the end of its timeline and whether
-- any incident is open. Without
-- these, the first scanned the whole cases table (time grew with every customer
-- ever served) and the second sorted the case's whole timeline.
CREATE INDEX cases_customer ON cases(customer_id);
CREATE INDEX events_case_time ON events(case_id, at, id);
DROP INDEX events_case;
CREATE INDEX incidents_state ON incidents(state);
