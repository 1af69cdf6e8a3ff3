-- The outbox shared by several processes is PostgreSQL's (its 015): on SQLite one
-- `candor run` sends (bot/store/sqlite/sender.py), and nothing is shared. This
-- migration keeps the two backends' numbers in step.
SELECT 1;
