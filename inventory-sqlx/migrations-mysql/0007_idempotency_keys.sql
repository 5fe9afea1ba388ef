-- The idempotency key of a keyed movement, unique (NULLs never collide).
ALTER TABLE ledger
    ADD COLUMN idempotency_key VARCHAR(160) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    ADD UNIQUE KEY ledger_by_idempotency_key (idempotency_key);
