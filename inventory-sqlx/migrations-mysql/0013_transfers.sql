-- Transfers between locations.
CREATE TABLE transfers (
    id          BINARY(16)  NOT NULL PRIMARY KEY,
    sku         VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    status      VARCHAR(16) NOT NULL CHECK (status IN ('in_transit', 'received', 'closed')),
    updated_at  DATETIME(6) NOT NULL,
    body        LONGTEXT    NOT NULL,
    KEY transfers_open (sku, status)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
