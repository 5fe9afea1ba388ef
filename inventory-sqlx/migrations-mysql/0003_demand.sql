-- Units shipped (and their revenue, exact) per SKU and UTC day, for reorder demand.
CREATE TABLE daily_shipped (
    sku      VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    day      DATE           NOT NULL,
    units    BIGINT         NOT NULL,
    revenue  DECIMAL(65, 28) NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, day),
    KEY daily_shipped_by_day (day)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
