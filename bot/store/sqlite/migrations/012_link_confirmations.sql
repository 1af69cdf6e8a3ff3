-- /link asks both sides before it joins anything: a code entered on one channel
-- becomes a pending link, until the customer who entered it and then the one who
-- asked for the code both say yes (either saying no, or its expiry, drops it).
CREATE TABLE pending_links (
    id          INTEGER PRIMARY KEY,
    asked_by    INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE, -- made the code
    entered_by  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE, -- typed it
    entered_yes INTEGER NOT NULL DEFAULT 0, -- the one who typed it confirmed
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL
);
CREATE INDEX pending_links_asked ON pending_links(asked_by);
CREATE INDEX pending_links_entered ON pending_links(entered_by);

-- Wrong codes are counted per identity (a digest of channel, workspace and user id),
-- no longer per customer: /forget makes a new customer of the same person, and must
-- not give them new tries. Tries are kept only while they count (an hour).
DROP TABLE link_failures;
CREATE TABLE link_tries (
    who TEXT NOT NULL,
    at  REAL NOT NULL
);
CREATE INDEX link_tries_who ON link_tries(who, at);
