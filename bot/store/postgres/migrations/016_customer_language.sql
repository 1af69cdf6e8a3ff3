-- The language the bot speaks to a customer (SQLite's 016).
ALTER TABLE customers ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN language_chosen BIGINT NOT NULL DEFAULT 0;
