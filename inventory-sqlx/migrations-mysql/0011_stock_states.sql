-- Damaged, quality-control and safety-stock units, on rows and ledger entries.
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
