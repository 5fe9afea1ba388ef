-- Purchasing, numbered as in inventory-sqlite: suppliers and SKU links (configuration,
-- as JSONB bodies) and purchase orders.
CREATE TABLE suppliers (
    id    TEXT  NOT NULL PRIMARY KEY,
    body  JSONB NOT NULL
);

CREATE TABLE sku_suppliers (
    sku       TEXT  NOT NULL PRIMARY KEY,
    supplier  TEXT  NOT NULL,
    body      JSONB NOT NULL
);

CREATE TABLE purchase_orders (
    id          UUID        NOT NULL PRIMARY KEY,
    supplier    TEXT        NOT NULL,
    status      TEXT        NOT NULL CHECK (status IN ('draft', 'sent', 'shipped', 'received', 'closed', 'cancelled')),
    location    TEXT        NOT NULL,
    lines       JSONB       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX purchase_orders_by_supplier ON purchase_orders (supplier, status);
