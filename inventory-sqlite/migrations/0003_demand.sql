-- Units shipped per SKU and UTC day (ISO date text), kept with each shipment so a
-- reorder run reads one row per SKU and day; filled from the ledger for older files.
CREATE TABLE daily_shipped (
    sku    TEXT    NOT NULL,
    day    TEXT    NOT NULL,
    units  INTEGER NOT NULL,
    PRIMARY KEY (sku, day)
) WITHOUT ROWID;
CREATE INDEX daily_shipped_by_day ON daily_shipped (day);

INSERT INTO daily_shipped (sku, day, units)
SELECT sku, date(at / 1000000, 'unixepoch'), SUM(quantity)
FROM ledger WHERE movement = 'shipped'
GROUP BY 1, 2;
