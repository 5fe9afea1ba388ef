-- The audit trail: who did it and the document behind it, on every ledger entry
-- (entries written before this version have neither), and an index behind each filter
-- of a ledger query: by time (newest first), by reference; a row's own entries use the
-- primary key.
ALTER TABLE ledger ADD COLUMN actor TEXT;
ALTER TABLE ledger ADD COLUMN reference TEXT;
CREATE INDEX ledger_by_time ON ledger (at);
CREATE INDEX ledger_by_reference ON ledger (reference, at) WHERE reference IS NOT NULL;
