-- Backordered units on rows and ledger entries.
ALTER TABLE stock ADD COLUMN backordered BIGINT NOT NULL DEFAULT 0 CHECK (backordered >= 0);
ALTER TABLE ledger
    ADD COLUMN before_backordered BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN after_backordered BIGINT NOT NULL DEFAULT 0;
