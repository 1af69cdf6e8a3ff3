-- Community places (issue 19): an incident may name one (where customers work on it
-- together); a customer may turn the offer of such places off (/community off); a
-- place is offered at most once per case.
ALTER TABLE incidents ADD COLUMN community TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN community_off INTEGER NOT NULL DEFAULT 0;
CREATE TABLE community_offers (
    case_id INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
    at      REAL NOT NULL
);
