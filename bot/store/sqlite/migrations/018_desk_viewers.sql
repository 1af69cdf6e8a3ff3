-- Every terminal desk sees every desk message, once each: which messages each
-- viewer (an agent's `candor desk`) has shown. `floor`: the messages at or below it
-- were sent before the viewer first ran. One row per message shown (not a cursor:
-- on PostgreSQL ids are not committed in order, so a cursor could pass over one).
CREATE TABLE desk_viewers (
    viewer  TEXT PRIMARY KEY,
    floor   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE desk_seen (
    viewer     TEXT NOT NULL,
    outbox_id  INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    PRIMARY KEY (viewer, outbox_id)
) WITHOUT ROWID;
CREATE INDEX desk_seen_outbox ON desk_seen(outbox_id);
