-- The card's own message in a desk thread, where it is not the thread's first
-- message (a Telegram forum topic: the topic is the thread, the card a message in
-- it). A card update edits that message; '' where the thread id is the card.
ALTER TABLE desk_threads ADD COLUMN card_message TEXT NOT NULL DEFAULT '';
