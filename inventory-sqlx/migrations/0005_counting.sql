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

-- The customer's price per unit on shipments of priced order lines (exact decimal text).
ALTER TABLE ledger ADD COLUMN unit_price TEXT;

-- When each row was last counted, for the count schedule.
CREATE TABLE last_counts (
    sku       TEXT   NOT NULL,
    location  TEXT   NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (sku, location)
);

-- Reservations holding units of a SKU (active or committed): who is short when a count
-- finds fewer units than are promised. Filled from existing reservations.
CREATE TABLE open_holds (
    reservation_id  UUID NOT NULL,
    sku             TEXT NOT NULL,
    PRIMARY KEY (reservation_id, sku)
);
CREATE INDEX open_holds_by_sku ON open_holds (sku);
INSERT INTO open_holds (reservation_id, sku)
SELECT DISTINCT r.id, l->>'sku'
FROM reservations r, jsonb_array_elements(r.lines) l
WHERE r.status IN ('active', 'committed');
