-- The language the bot speaks to a customer (issue 18): '' until settled, and whether
-- they chose it themselves (/language), so that what they write does not change it.
ALTER TABLE customers ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN language_chosen INTEGER NOT NULL DEFAULT 0;
