-- One table of holds instead of two, as in the other backends: a row per SKU of each
-- open (active or committed) reservation, with its expiry while active (NULL once
-- committed). Order ids are no longer unique on their own (the id derives from it).
CREATE TABLE holds (
    reservation_id  BINARY(16)  NOT NULL,
    sku             VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    expires_at      DATETIME(6),
    PRIMARY KEY (reservation_id, sku),
    KEY holds_by_sku (sku, expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
DROP TABLE active_holds;
DROP TABLE open_holds;
