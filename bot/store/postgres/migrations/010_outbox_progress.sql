-- How far a message sent in several platform calls got (SQLite's 010).
ALTER TABLE outbox ADD COLUMN progress TEXT COLLATE "C" NOT NULL DEFAULT '{}';
