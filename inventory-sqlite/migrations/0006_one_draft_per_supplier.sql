-- One open draft per supplier. Two reorder runs at the same moment (two app servers)
-- could each find no draft and raise one, ordering every SKU twice; with this index the
-- second insert fails as a unique violation, the unit is retried whole, and the retry
-- merges into the first run's draft (which already names the SKU: nothing is added).
-- A database that already holds two drafts of one supplier must cancel one first.
CREATE UNIQUE INDEX purchase_orders_one_draft ON purchase_orders (supplier) WHERE status = 'draft';
