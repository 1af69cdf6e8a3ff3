-- The web dashboard's sign-in: one-time links an agent asked for on the desk
-- (`/dashboard`) and the sessions they opened. Only a keyed digest of each token
-- is kept (what a copy of the database gives no one a way in with); both expire.
CREATE TABLE web_links (
    digest      TEXT PRIMARY KEY,
    agent       TEXT NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE web_sessions (
    digest      TEXT PRIMARY KEY,
    agent       TEXT NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_agent ON web_sessions(agent);
