-- /link: a short-lived, single-use code joins a customer's identities on two
-- channels. Only a digest of the code is kept; failed tries are counted per
-- customer to stop guessing.
CREATE TABLE link_codes (
    code_digest TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE link_failures (
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    at          REAL NOT NULL
);
CREATE INDEX link_failures_customer ON link_failures(customer_id, at);
