-- Units shipped (and their revenue, an exact decimal as text) per SKU and UTC day
-- (days since 1970-01-01), kept with each shipment so a reorder run reads one row per
-- SKU and day, in SKU order; filled from the ledger for older files.
CREATE TABLE daily_shipped (
    sku      TEXT    NOT NULL,
    day      INTEGER NOT NULL,
    units    INTEGER NOT NULL,
    revenue  TEXT    NOT NULL DEFAULT '0',
    PRIMARY KEY (sku, day)
) WITHOUT ROWID;

INSERT INTO daily_shipped (sku, day, units)
SELECT sku, at / 86400000000, SUM(quantity)
FROM ledger WHERE movement = 'shipped'
GROUP BY 1, 2;
