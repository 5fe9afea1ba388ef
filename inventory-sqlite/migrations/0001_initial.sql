-- Stock rows: one per SKU and location. Every stored number is at least zero.
CREATE TABLE stock (
    sku         TEXT    NOT NULL,
    location    TEXT    NOT NULL,
    on_hand     INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved    INTEGER NOT NULL CHECK (reserved >= 0),
    committed   INTEGER NOT NULL CHECK (committed >= 0),
    in_transit  INTEGER NOT NULL CHECK (in_transit >= 0),
    PRIMARY KEY (sku, location)
) WITHOUT ROWID;

-- Reservations. Times are microseconds since the Unix epoch; lines and the original
-- request are JSON (they never change after the reservation is created).
CREATE TABLE reservations (
    id          TEXT    NOT NULL PRIMARY KEY,
    order_id    TEXT    NOT NULL UNIQUE,
    status      TEXT    NOT NULL CHECK (status IN ('active', 'committed', 'shipped', 'released', 'expired')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    lines       TEXT    NOT NULL,
    request     TEXT    NOT NULL
) WITHOUT ROWID;

-- The expiry sweep: active holds, longest overdue first.
CREATE INDEX reservations_due ON reservations (expires_at, id) WHERE status = 'active';

-- Active holds by SKU, for lazy reclaim inside a reserve. A row lives exactly as long
-- as its reservation is active.
CREATE TABLE active_holds (
    reservation_id  TEXT    NOT NULL,
    sku             TEXT    NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (reservation_id, sku)
) WITHOUT ROWID;
CREATE INDEX active_holds_by_sku ON active_holds (sku, expires_at);

-- The ledger: append only, in commit order.
CREATE TABLE ledger (
    seq                 INTEGER PRIMARY KEY,
    at                  INTEGER NOT NULL,
    sku                 TEXT    NOT NULL,
    location            TEXT    NOT NULL,
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
    reason              TEXT
);
CREATE INDEX ledger_by_row ON ledger (sku, location, seq);
