-- Purchasing: suppliers and SKU links (configuration, as JSON bodies) and purchase
-- orders (lines as JSON; times in microseconds since the Unix epoch).
CREATE TABLE suppliers (
    id    TEXT NOT NULL PRIMARY KEY,
    body  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE sku_suppliers (
    sku       TEXT NOT NULL PRIMARY KEY,
    supplier  TEXT NOT NULL,
    body      TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE purchase_orders (
    id          TEXT    NOT NULL PRIMARY KEY,
    supplier    TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('draft', 'sent', 'shipped', 'received', 'closed', 'cancelled')),
    location    TEXT    NOT NULL,
    lines       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX purchase_orders_by_supplier ON purchase_orders (supplier, status);
