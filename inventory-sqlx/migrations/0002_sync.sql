-- Channel sync, numbered as in inventory-sqlite: the transactional outbox (one row per
-- dirty SKU, keyed by SKU) and what each channel was last told.
CREATE TABLE sync_outbox (
    sku            TEXT        NOT NULL PRIMARY KEY,
    generation     BIGINT      NOT NULL,
    claimed_until  TIMESTAMPTZ,
    retry_at       TIMESTAMPTZ
);

CREATE TABLE channel_state (
    channel    TEXT        NOT NULL,
    sku        TEXT        NOT NULL,
    quantity   BIGINT      NOT NULL,
    pushed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, sku)
);
