-- The web dashboard's sign-in links and sessions (SQLite's 017): keyed digests only.
CREATE TABLE web_links (
    digest      TEXT COLLATE "C" PRIMARY KEY,
    agent       TEXT COLLATE "C" NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE web_sessions (
    digest      TEXT COLLATE "C" PRIMARY KEY,
    agent       TEXT COLLATE "C" NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX web_sessions_agent ON web_sessions(agent);
