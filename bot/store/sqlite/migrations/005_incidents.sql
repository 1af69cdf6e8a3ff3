-- Incidents declared by agents; customers who write about one are subscribed to
-- its updates (a notice they asked for by writing about it).
CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    affected    TEXT NOT NULL DEFAULT '',
    words       TEXT NOT NULL DEFAULT '[]',   -- JSON list: what customers write about it
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    opened_by   TEXT NOT NULL,
    opened_at   REAL NOT NULL,
    resolved_at REAL
);

CREATE TABLE incident_updates (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    at          REAL NOT NULL,
    author      TEXT NOT NULL,
    text        TEXT NOT NULL
);

CREATE TABLE incident_subscribers (
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    at          REAL NOT NULL,
    PRIMARY KEY (incident_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX incident_subscribers_customer ON incident_subscribers(customer_id);
