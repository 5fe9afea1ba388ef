-- The caller's idempotency key on ledger entries of keyed stock movements (a receipt
-- number, an HTTP Idempotency-Key): a movement is applied at most once per key. The
-- unique index also stops two transactions that use one key on different rows at once:
-- the second fails as a unique violation, is retried whole, and then finds the key.
ALTER TABLE ledger ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX ledger_by_idempotency_key ON ledger (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
