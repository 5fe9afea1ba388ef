-- Units shipped (and their exact revenue) per SKU and UTC day, kept with each shipment (keyed by SKU) so a
-- reorder run reads one row per SKU and day; filled from the ledger for older data.
CREATE TABLE daily_shipped (
    sku      TEXT    NOT NULL,
    day      DATE    NOT NULL,
    units    BIGINT  NOT NULL,
    revenue  NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, day)
);
CREATE INDEX daily_shipped_by_day ON daily_shipped (day);

INSERT INTO daily_shipped (sku, day, units)
SELECT sku, (at AT TIME ZONE 'UTC')::date, SUM(quantity)
FROM ledger WHERE movement = 'shipped'
GROUP BY 1, 2;
