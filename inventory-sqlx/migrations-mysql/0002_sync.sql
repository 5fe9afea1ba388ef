-- Channel sync: the outbox of dirty SKUs and what each channel was last told.
CREATE TABLE sync_outbox (
    sku            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    generation     BIGINT      NOT NULL,
    claimed_until  DATETIME(6),
    retry_at       DATETIME(6)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE channel_state (
    channel    VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    sku        VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    quantity   BIGINT      NOT NULL,
    pushed_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (channel, sku)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
