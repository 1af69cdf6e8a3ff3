-- Whether a place is private (only the customer reads it: a direct message, a
-- private chat, the terminal) or shared (a channel, a group): stored addresses
-- carry a fourth element, 1, when private. Addresses stored before this were
-- written without it; the places that were private then are marked here: a Slack
-- direct message (its id starts with D), a Telegram private chat (a positive chat
-- id: groups' are negative) and the terminal chat. Everything else stays shared,
-- the safe value.
UPDATE identities SET address = json_insert(address, '$[3]', 1)
 WHERE json_array_length(address) = 3
   AND ((json_extract(address, '$[0]') = 'slack' AND json_extract(address, '$[1]') LIKE 'D%')
     OR (json_extract(address, '$[0]') = 'telegram'
         AND json_extract(address, '$[1]') NOT LIKE '-%')
     OR json_extract(address, '$[0]') = 'console');
UPDATE outbox SET address = json_insert(address, '$[3]', 1)
 WHERE json_array_length(address) = 3
   AND ((json_extract(address, '$[0]') = 'slack' AND json_extract(address, '$[1]') LIKE 'D%')
     OR (json_extract(address, '$[0]') = 'telegram'
         AND json_extract(address, '$[1]') NOT LIKE '-%')
     OR json_extract(address, '$[0]') = 'console');
-- Where the customer's words on a case were last said (an address as above): a
-- person's answers on the case go there. Empty for cases from before: their
-- answers go where the customer last wrote, as they did. Erased by /forget.
ALTER TABLE cases ADD COLUMN reply_to TEXT NOT NULL DEFAULT '';
