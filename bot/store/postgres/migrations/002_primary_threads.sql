-- A case's desk thread is where its card went (SQLite's 002; no rows exist yet on a
-- new PostgreSQL database, so nothing is marked).
ALTER TABLE desk_threads ADD COLUMN is_card BIGINT NOT NULL DEFAULT 0;
