-- Unavailable stock by state: units of on hand set aside as damaged, in quality control
-- or as safety stock. Available is on_hand - reserved - committed - these. The ledger
-- keeps them before and after each change, so that it replays to the rows. Adding a
-- column with a constant default rewrites no table.
ALTER TABLE stock
    ADD COLUMN damaged BIGINT NOT NULL DEFAULT 0 CHECK (damaged >= 0),
    ADD COLUMN quality_control BIGINT NOT NULL DEFAULT 0 CHECK (quality_control >= 0),
    ADD COLUMN safety_stock BIGINT NOT NULL DEFAULT 0 CHECK (safety_stock >= 0);
ALTER TABLE ledger
    ADD COLUMN before_damaged BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN before_quality_control BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN before_safety_stock BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN after_damaged BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN after_quality_control BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN after_safety_stock BIGINT NOT NULL DEFAULT 0;
