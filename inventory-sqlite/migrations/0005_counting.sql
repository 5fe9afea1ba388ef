-- Cycle counting: every count (JSON body, in order) and investigations (open ones by
-- SKU: an open freezing one freezes its SKU).
CREATE TABLE count_records (
    seq   INTEGER PRIMARY KEY,
    sku   TEXT    NOT NULL,
    body  TEXT    NOT NULL
);
CREATE INDEX count_records_by_sku ON count_records (sku, seq);

CREATE TABLE investigations (
    id       TEXT    NOT NULL PRIMARY KEY,
    sku      TEXT    NOT NULL,
    open     INTEGER NOT NULL,
    freezes  INTEGER NOT NULL,
    body     TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX investigations_open ON investigations (sku) WHERE open = 1;
