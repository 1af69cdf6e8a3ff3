-- A case's desk thread is where its card went; messages sent into that thread are
-- mapped back to the case too (an agent may reply to any of them), but new desk
-- messages go to the card's thread, never to a later reply.
ALTER TABLE desk_threads ADD COLUMN is_card INTEGER NOT NULL DEFAULT 0;
UPDATE desk_threads SET is_card = 1
 WHERE rowid IN (SELECT MIN(rowid) FROM desk_threads GROUP BY channel, chat_id, case_id);
