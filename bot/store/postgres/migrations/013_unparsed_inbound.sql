-- Platform updates the platform's library could not read, kept whole (SQLite's 013).
CREATE TABLE inbound_unparsed (
    channel TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    raw     TEXT COLLATE "C" NOT NULL,
    reason  TEXT COLLATE "C" NOT NULL DEFAULT '',
    at      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (channel, key)
);
CREATE INDEX inbound_unparsed_by_user ON inbound_unparsed (channel, user_id);
