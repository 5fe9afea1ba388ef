-- The outbox of low-stock events, in the order raised.
CREATE TABLE stock_events (
    seq            BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sku            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    body           LONGTEXT    NOT NULL,
    attempts       INTEGER     NOT NULL DEFAULT 0,
    claimed_until  DATETIME(6),
    retry_at       DATETIME(6)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
