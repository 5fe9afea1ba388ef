-- Transfers between locations: the whole transfer as JSON, its SKU and status beside
-- it for queries.
CREATE TABLE transfers (
    id          UUID        NOT NULL PRIMARY KEY,
    sku         TEXT        NOT NULL,
    status      TEXT        NOT NULL CHECK (status IN ('in_transit', 'received', 'closed')),
    updated_at  TIMESTAMPTZ NOT NULL,
    body        JSONB       NOT NULL
);
CREATE INDEX transfers_open ON transfers (sku) WHERE status = 'in_transit';
