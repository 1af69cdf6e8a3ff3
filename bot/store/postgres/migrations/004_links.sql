-- /link codes (SQLite's 004).
CREATE TABLE link_codes (
    code_digest TEXT COLLATE "C" PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE link_failures (
    customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    at          DOUBLE PRECISION NOT NULL
);
CREATE INDEX link_failures_customer ON link_failures(customer_id, at);
