-- The wait estimate (bot/waits.py) reads, on every handover and /status, who acted
-- on the desk lately (events by time) and the claims of the last week (cases by
-- claim time). Without these both scanned their whole table: about 156 ms per
-- read at a million events.
CREATE INDEX events_time ON events(at);
CREATE INDEX cases_claimed ON cases(claimed_at);
