-- The audit trail: who did it and the document behind it, on every ledger entry.
-- Entries written before this version have neither.
ALTER TABLE ledger ADD COLUMN actor TEXT;
ALTER TABLE ledger ADD COLUMN reference TEXT;
