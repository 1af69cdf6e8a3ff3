-- The card's own message in a desk thread (SQLite's 014).
ALTER TABLE desk_threads ADD COLUMN card_message TEXT COLLATE "C" NOT NULL DEFAULT '';
