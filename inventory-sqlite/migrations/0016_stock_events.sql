-- The outbox of low-stock events: appended by the command that crossed a SKU's
-- threshold, in its transaction; removed once a worker delivered them.
CREATE TABLE stock_events (
    seq            INTEGER NOT NULL PRIMARY KEY,
    sku            TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    claimed_until  INTEGER,
    retry_at       INTEGER
);
