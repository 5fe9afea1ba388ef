-- Backorders: units sold beyond available under a SKU's backorder policy, owed to the
-- holds that took them until an arrival covers them. Not part of reserved. The ledger
-- keeps them before and after each change, so that it replays to the rows.
ALTER TABLE stock ADD COLUMN backordered BIGINT NOT NULL DEFAULT 0 CHECK (backordered >= 0);
ALTER TABLE ledger ADD COLUMN before_backordered BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger ADD COLUMN after_backordered BIGINT NOT NULL DEFAULT 0;
