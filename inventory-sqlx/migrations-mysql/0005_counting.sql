-- Cycle counts, investigations, the price on ledger entries, when each row was last
-- counted, and the open holds of each SKU.
CREATE TABLE count_records (
    id    BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sku   VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    body  LONGTEXT NOT NULL,
    KEY count_records_by_sku (sku, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE investigations (
    id       BINARY(16) NOT NULL PRIMARY KEY,
    sku      VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    `open`   BOOLEAN    NOT NULL,
    freezes  BOOLEAN    NOT NULL,
    body     LONGTEXT   NOT NULL,
    KEY investigations_open (sku, `open`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE ledger ADD COLUMN unit_price VARCHAR(64);

CREATE TABLE last_counts (
    sku       VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    location  VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (sku, location)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE open_holds (
    reservation_id  BINARY(16) NOT NULL,
    sku             VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (reservation_id, sku),
    KEY open_holds_by_sku (sku)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
