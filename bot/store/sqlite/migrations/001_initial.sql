-- The first schema: customers and their identities, cases with their timelines,
-- the inbound dedupe log and the outbox. Times are Unix seconds (REAL, UTC).

CREATE TABLE customers (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    created_at   REAL NOT NULL,
    last_seen_at REAL
);

CREATE TABLE identities (
    channel     TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    address     TEXT NOT NULL,          -- JSON: where replies to this identity go
    last_used_at REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, workspace, user_id)
);
CREATE INDEX identities_customer ON identities(customer_id);

CREATE TABLE cases (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    state           TEXT NOT NULL CHECK (state IN ('bot', 'waiting', 'agent', 'resolved')),
    subject         TEXT NOT NULL DEFAULT '',
    opened_at       REAL NOT NULL,
    updated_at      REAL NOT NULL,
    handover_reason TEXT NOT NULL DEFAULT '',
    handed_over_at  REAL,
    agent           TEXT NOT NULL DEFAULT '',
    claimed_at      REAL,
    resolved_at     REAL,
    summary         TEXT NOT NULL DEFAULT '',   -- what the customer confirmed for the person
    draft_summary   TEXT NOT NULL DEFAULT '',   -- shown to the customer, not yet confirmed
    pending_reason  TEXT NOT NULL DEFAULT '',   -- why a handover waits for that confirmation
    unanswered      INTEGER NOT NULL DEFAULT 0, -- questions in a row the bot could not answer
    alerted_at      REAL                        -- last time the desk was reminded it waits
);
-- One case per customer: at most one that is not resolved.
CREATE UNIQUE INDEX cases_one_open ON cases(customer_id) WHERE state <> 'resolved';
CREATE INDEX cases_waiting ON cases(state, handed_over_at);

CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    at      REAL NOT NULL,
    kind    TEXT NOT NULL,
    actor   TEXT NOT NULL,
    text    TEXT NOT NULL DEFAULT '',
    data    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_case ON events(case_id, id);

-- Every inbound platform event, by the platform's own id: a repeat is ignored.
CREATE TABLE inbound_seen (
    channel TEXT NOT NULL,
    key     TEXT NOT NULL,
    at      REAL NOT NULL,
    PRIMARY KEY (channel, key)
) WITHOUT ROWID;

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    address     TEXT NOT NULL,          -- JSON Address
    customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    case_id     INTEGER REFERENCES cases(id) ON DELETE SET NULL,
    cause       TEXT NOT NULL,
    text        TEXT NOT NULL,
    buttons     TEXT NOT NULL DEFAULT '[]',
    created_at  REAL NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  REAL NOT NULL DEFAULT 0,
    sent_at     REAL,
    platform_id TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    meta        TEXT NOT NULL DEFAULT '{}'  -- JSON: what to do once it is sent (receipts, threads)
);
CREATE INDEX outbox_pending ON outbox(channel, id) WHERE state = 'pending';

-- Where each case lives on a desk (a Slack thread, a Telegram topic): stored, never
-- parsed back out of message text.
CREATE TABLE desk_threads (
    channel   TEXT NOT NULL,
    chat_id   TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    case_id   INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    PRIMARY KEY (channel, chat_id, thread_id)
);
CREATE INDEX desk_threads_case ON desk_threads(case_id);
