-- Where the customer's words on a case were last said (SQLite's 009). Addresses were
-- written with their private mark from the start on PostgreSQL: nothing to mark.
ALTER TABLE cases ADD COLUMN reply_to TEXT COLLATE "C" NOT NULL DEFAULT '';
