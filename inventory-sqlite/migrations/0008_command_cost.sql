-- The cost of one command, numbered as in inventory-sqlx: fewer pages written per
-- reservation.
--
-- One table of holds instead of two: a row per SKU of each open (active or committed)
-- reservation, with its expiry while active (NULL once committed). A reserve finds
-- overdue holds on its SKUs by (sku, expires_at); a count finds who holds its SKU by
-- sku. A reservation used to write four B-tree pages here (two tables, two indexes);
-- now two.
CREATE TABLE holds (
    reservation_id  TEXT    NOT NULL,
    sku             TEXT    NOT NULL,
    expires_at      INTEGER,
    PRIMARY KEY (reservation_id, sku)
) WITHOUT ROWID;
CREATE INDEX holds_by_sku ON holds (sku, expires_at);
INSERT INTO holds (reservation_id, sku, expires_at)
SELECT o.reservation_id, o.sku, a.expires_at
FROM open_holds o
LEFT JOIN active_holds a ON a.reservation_id = o.reservation_id AND a.sku = o.sku;
DROP TABLE active_holds;
DROP TABLE open_holds;

-- Reservations in the order they were made (an append-only row key, `seq`), found by
-- id through a small unique index: a new reservation goes on the table's last page,
-- not on a random page of a table that grows with every order ever taken (the id is a
-- hash of the order id), so the pages a day of trade dirties, and each checkpoint
-- writes back, stay few however long the history. Without the unique index on
-- order_id (the id is derived from the order id, so the id's index already keeps one
-- reservation per order) and without the status CHECK (SQLite built a temporary table
-- for it on every insert; a status this build cannot read is reported as corrupt).
CREATE TABLE reservations_v8 (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    order_id    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    lines       TEXT    NOT NULL,
    request     TEXT    NOT NULL
);
INSERT INTO reservations_v8 (id, order_id, status, created_at, expires_at, updated_at, lines, request)
SELECT id, order_id, status, created_at, expires_at, updated_at, lines, request FROM reservations
ORDER BY created_at, id;
DROP TABLE reservations;
ALTER TABLE reservations_v8 RENAME TO reservations;
CREATE INDEX reservations_due ON reservations (expires_at, id) WHERE status = 'active';

-- The ledger kept in (sku, location, seq) order, where seq counts each row's entries:
-- an entry is written into its row's history directly, one B-tree page, instead of a
-- page at the end of the table plus a page of the (sku, location, seq) index. Entries
-- of different rows are no longer numbered in one sequence (nothing read them that
-- way); each row's entries keep their order, and the old numbers are kept.
CREATE TABLE ledger_v8 (
    sku                 TEXT    NOT NULL,
    location            TEXT    NOT NULL,
    seq                 INTEGER NOT NULL,
    at                  INTEGER NOT NULL,
    movement            TEXT    NOT NULL,
    quantity            INTEGER NOT NULL,
    before_on_hand      INTEGER NOT NULL,
    before_reserved     INTEGER NOT NULL,
    before_committed    INTEGER NOT NULL,
    before_in_transit   INTEGER NOT NULL,
    after_on_hand       INTEGER NOT NULL,
    after_reserved      INTEGER NOT NULL,
    after_committed     INTEGER NOT NULL,
    after_in_transit    INTEGER NOT NULL,
    reservation_id      TEXT,
    order_id            TEXT,
    reason              TEXT,
    unit_price          TEXT,
    idempotency_key     TEXT,
    PRIMARY KEY (sku, location, seq)
) WITHOUT ROWID;
INSERT INTO ledger_v8 (sku, location, seq, at, movement, quantity,
    before_on_hand, before_reserved, before_committed, before_in_transit,
    after_on_hand, after_reserved, after_committed, after_in_transit,
    reservation_id, order_id, reason, unit_price, idempotency_key)
SELECT sku, location, seq, at, movement, quantity,
    before_on_hand, before_reserved, before_committed, before_in_transit,
    after_on_hand, after_reserved, after_committed, after_in_transit,
    reservation_id, order_id, reason, unit_price, idempotency_key
FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_v8 RENAME TO ledger;
CREATE UNIQUE INDEX ledger_by_idempotency_key ON ledger (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
