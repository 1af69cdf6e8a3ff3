-- What the bot waits for from the customer on a case (bot.model.Conversation), with
-- its expiry and what it carries: stored, never re-derived from the timeline.
ALTER TABLE cases ADD COLUMN conversation TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN conversation_until REAL;
ALTER TABLE cases ADD COLUMN conversation_note TEXT NOT NULL DEFAULT '';
