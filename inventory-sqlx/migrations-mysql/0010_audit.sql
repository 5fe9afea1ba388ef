-- Who and why on ledger entries, and indexes for the ledger query.
ALTER TABLE ledger
    ADD COLUMN actor TEXT,
    ADD COLUMN reference VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    ADD KEY ledger_by_time (at),
    ADD KEY ledger_by_reference (reference, at);
