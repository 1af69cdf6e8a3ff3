-- What the bot waits for from the customer on a case (SQLite's 008).
ALTER TABLE cases ADD COLUMN conversation TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN conversation_until DOUBLE PRECISION;
ALTER TABLE cases ADD COLUMN conversation_note TEXT COLLATE "C" NOT NULL DEFAULT '';
