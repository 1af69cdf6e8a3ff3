-- Platform updates the platform's library could not read (a poll from an older Bot
-- API server, say), kept as they came so that nothing is lost, and so that intake
-- goes on past them. `user_id` is the sender as far as the raw update says: their
-- /mydata shows these and /forget erases them (they hold customer text).
CREATE TABLE inbound_unparsed (
    channel TEXT NOT NULL,
    key     TEXT NOT NULL,
    user_id TEXT NOT NULL DEFAULT '',
    raw     TEXT NOT NULL,
    reason  TEXT NOT NULL DEFAULT '',
    at      REAL NOT NULL,
    PRIMARY KEY (channel, key)
) WITHOUT ROWID;
CREATE INDEX inbound_unparsed_by_user ON inbound_unparsed (channel, user_id);
