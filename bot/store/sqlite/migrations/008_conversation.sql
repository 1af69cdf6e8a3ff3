-- What the bot waits for from the customer on a case (a summary to confirm, a
-- rating, a yes or no to /forget …), stored on the case instead of re-derived from
-- its timeline, with when the wait lapses and what it carries (customer text: it is
-- erased by /forget with the case's other text).
ALTER TABLE cases ADD COLUMN conversation TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN conversation_until REAL;
ALTER TABLE cases ADD COLUMN conversation_note TEXT NOT NULL DEFAULT '';
