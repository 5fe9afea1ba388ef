-- Cycle counting: every count (JSON body, in order) and investigations (open ones by
-- SKU: an open freezing one freezes its SKU).
CREATE TABLE count_records (
    seq   INTEGER PRIMARY KEY,
    sku   TEXT    NOT NULL,
    body  TEXT    NOT NULL
);
CREATE INDEX count_records_by_sku ON count_records (sku, seq);

CREATE TABLE investigations (
    id       TEXT    NOT NULL PRIMARY KEY,
    sku      TEXT    NOT NULL,
    open     INTEGER NOT NULL,
    freezes  INTEGER NOT NULL,
    body     TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX investigations_open ON investigations (sku) WHERE open = 1;

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
    reservation_id  TEXT NOT NULL,
    sku             TEXT NOT NULL,
    PRIMARY KEY (reservation_id, sku)
) WITHOUT ROWID;
CREATE INDEX open_holds_by_sku ON open_holds (sku);
INSERT OR IGNORE INTO open_holds (reservation_id, sku)
SELECT r.id, json_extract(l.value, '$.sku')
FROM reservations r, json_each(r.lines) l
WHERE r.status IN ('active', 'committed');
