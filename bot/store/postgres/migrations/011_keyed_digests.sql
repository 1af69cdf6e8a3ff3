-- The database's own secret for the keyed digests (SQLite's 011): 32 bytes from the
-- server's strong random source (gen_random_uuid: 122 random bits each). `candor db
-- copy` brings a SQLite database's secret along with its digests.
CREATE TABLE meta (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL
);

INSERT INTO meta (name, value) VALUES ('hmac_key', decode(
    replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
