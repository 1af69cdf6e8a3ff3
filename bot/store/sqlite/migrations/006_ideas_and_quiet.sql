-- /idea: suggestions customers can vote for; voters hear when one is planned or done.
CREATE TABLE ideas (
    id          INTEGER PRIMARY KEY,
    text        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'planned', 'done')),
    created_by  INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    note        TEXT NOT NULL DEFAULT ''   -- what the team said when it changed state
);

CREATE TABLE idea_votes (
    idea_id     INTEGER NOT NULL REFERENCES ideas(id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    at          REAL NOT NULL,
    PRIMARY KEY (idea_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX idea_votes_customer ON idea_votes(customer_id);

-- Notices (incidents, ideas) wait while a customer has muted them or is in their
-- quiet hours; replies never wait.
ALTER TABLE customers ADD COLUMN muted_until REAL;          -- a time, or far future
ALTER TABLE customers ADD COLUMN muted_until_write INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN quiet_hours TEXT NOT NULL DEFAULT '';  -- "22:00-07:00"
