-- The customer's voice and their right to be forgotten.
CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    case_id     INTEGER REFERENCES cases(id) ON DELETE SET NULL,
    at          REAL NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX feedback_customer ON feedback(customer_id);

-- Set when a customer had their data erased: the row stays so that reports keep
-- their anonymous counts, with nothing left that says who they were.
ALTER TABLE customers ADD COLUMN forgotten_at REAL;

-- Dedupe keys hold platform ids (a Telegram chat id is the person's user id): keep
-- only a digest of them, which finds a repeat but names nobody.
UPDATE inbound_seen SET key = candor_digest(key);
