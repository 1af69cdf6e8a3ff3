-- Who acted on the desk lately and the last week's claims, for the wait estimate
-- (SQLite's 020).
CREATE INDEX events_time ON events(at);
CREATE INDEX cases_claimed ON cases(claimed_at);
