-- Channel sync: the transactional outbox (one row per dirty SKU) and what each channel
-- was last told. Times are microseconds since the Unix epoch.
CREATE TABLE sync_outbox (
    sku            TEXT    NOT NULL PRIMARY KEY,
    generation     INTEGER NOT NULL,
    claimed_until  INTEGER,
    retry_at       INTEGER
) WITHOUT ROWID;

CREATE TABLE channel_state (
    channel    TEXT    NOT NULL,
    sku        TEXT    NOT NULL,
    quantity   INTEGER NOT NULL,
    pushed_at  INTEGER NOT NULL,
    PRIMARY KEY (channel, sku)
) WITHOUT ROWID;
