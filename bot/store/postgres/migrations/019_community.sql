-- Community places (SQLite's 019).
ALTER TABLE incidents ADD COLUMN community TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN community_off BIGINT NOT NULL DEFAULT 0;
CREATE TABLE community_offers (
    case_id BIGINT PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
    at      DOUBLE PRECISION NOT NULL
);
