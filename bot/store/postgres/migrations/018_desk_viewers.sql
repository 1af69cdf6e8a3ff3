-- Which desk messages each terminal desk has shown (SQLite's 018).
CREATE TABLE desk_viewers (
    viewer  TEXT COLLATE "C" PRIMARY KEY,
    floor   BIGINT NOT NULL
);

CREATE TABLE desk_seen (
    viewer     TEXT COLLATE "C" NOT NULL,
    outbox_id  BIGINT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    PRIMARY KEY (viewer, outbox_id)
);
CREATE INDEX desk_seen_outbox ON desk_seen(outbox_id);
