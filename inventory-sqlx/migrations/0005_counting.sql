-- Cycle counting, numbered as in inventory-sqlite: every count and investigations (an
-- open freezing one freezes its SKU). Counts are not on the hot path; their sequence
-- only orders one SKU's history.
CREATE TABLE count_records (
    id    BIGSERIAL PRIMARY KEY,
    sku   TEXT      NOT NULL,
    body  JSONB     NOT NULL
);
CREATE INDEX count_records_by_sku ON count_records (sku, id);

CREATE TABLE investigations (
    id       UUID    NOT NULL PRIMARY KEY,
    sku      TEXT    NOT NULL,
    open     BOOLEAN NOT NULL,
    freezes  BOOLEAN NOT NULL,
    body     JSONB   NOT NULL
);
CREATE INDEX investigations_open ON investigations (sku) WHERE open;
