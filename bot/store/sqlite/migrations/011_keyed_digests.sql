-- A secret of this database's own, made once. The dedupe log and the link codes
-- keep a digest keyed with it (HMAC): unkeyed, a platform id (a Telegram chat id is
-- the person's user id) or a short link code could be found again by hashing every
-- likely one. The digests kept until now are keyed as they are: the keyed form is
-- made from the unkeyed one, so a redelivered event from before the upgrade is
-- still known as a repeat.
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

INSERT INTO meta (name, value) VALUES ('hmac_key', randomblob(32));

UPDATE inbound_seen
SET key = candor_rekey((SELECT value FROM meta WHERE name = 'hmac_key'), key);

UPDATE link_codes
SET code_digest = candor_rekey((SELECT value FROM meta WHERE name = 'hmac_key'), code_digest);
