-- How far a message sent in several platform calls got (pieces of a long text, a
-- card's forum topic), as its sender reported it: a small JSON object, opaque to the
-- core. A try after a restart goes on from there instead of repeating what the
-- platform took.
ALTER TABLE outbox ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';
