-- The outbox shared by several `candor run` processes (issue 16).
--
-- outbox_processes: every process sending, with its heartbeat's lease: the live
-- ones divide the platforms' overall rate between them.
CREATE TABLE outbox_processes (
    id          TEXT COLLATE "C" PRIMARY KEY,
    lease_until TIMESTAMPTZ NOT NULL
);

-- outbox_owners: the one process sending to each address (channel, chat) now, while
-- its lease holds; claimed with FOR UPDATE SKIP LOCKED, taken over once it lapsed.
CREATE TABLE outbox_owners (
    channel     TEXT COLLATE "C" NOT NULL,
    chat_id     TEXT COLLATE "C" NOT NULL,
    owner       TEXT COLLATE "C" NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, chat_id)
);
CREATE INDEX outbox_owners_owner ON outbox_owners(owner);

-- A new outbox row wakes the processes (LISTEN candor_outbox), when its transaction
-- commits: the payload is [channel, chat_id].
CREATE FUNCTION candor_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(
        'candor_outbox', json_build_array(NEW.channel, candor_json_item(NEW.address, 1))::text
    );
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION candor_outbox_notify();
