-- Version 1 of the schema, numbered as in inventory-sqlite. Every hot-path statement is
-- keyed by SKU (stock, active_holds, ledger) or by reservation id (derived from the
-- order id); there is no global sequence, advisory lock or LISTEN/NOTIFY, so the same
-- SQL runs on CockroachDB and YugabyteDB.

-- Stock rows, one per SKU and location. `version` counts the row's changes and orders
-- its ledger entries.
CREATE TABLE stock (
    sku         TEXT   NOT NULL,
    location    TEXT   NOT NULL,
    on_hand     BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved    BIGINT NOT NULL CHECK (reserved >= 0),
    committed   BIGINT NOT NULL CHECK (committed >= 0),
    in_transit  BIGINT NOT NULL CHECK (in_transit >= 0),
    version     BIGINT NOT NULL,
    PRIMARY KEY (sku, location)
);

-- Reservations; lines and the original request never change after creation.
CREATE TABLE reservations (
    id          UUID        NOT NULL PRIMARY KEY,
    order_id    TEXT        NOT NULL UNIQUE,
    status      TEXT        NOT NULL CHECK (status IN ('active', 'committed', 'shipped', 'released', 'expired')),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    lines       JSONB       NOT NULL,
    request     JSONB       NOT NULL
);
CREATE INDEX reservations_due ON reservations (expires_at, id) WHERE status = 'active';

-- Active holds by SKU, for lazy reclaim inside a reserve; a row lives exactly as long
-- as its reservation is active.
CREATE TABLE active_holds (
    reservation_id  UUID        NOT NULL,
    sku             TEXT        NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (reservation_id, sku)
);
CREATE INDEX active_holds_by_sku ON active_holds (sku, expires_at);

-- The ledger, append only, ordered per row by the row's version.
CREATE TABLE ledger (
    sku                 TEXT        NOT NULL,
    location            TEXT        NOT NULL,
    version             BIGINT      NOT NULL,
    at                  TIMESTAMPTZ NOT NULL,
    movement            TEXT        NOT NULL,
    quantity            BIGINT      NOT NULL,
    before_on_hand      BIGINT      NOT NULL,
    before_reserved     BIGINT      NOT NULL,
    before_committed    BIGINT      NOT NULL,
    before_in_transit   BIGINT      NOT NULL,
    after_on_hand       BIGINT      NOT NULL,
    after_reserved      BIGINT      NOT NULL,
    after_committed     BIGINT      NOT NULL,
    after_in_transit    BIGINT      NOT NULL,
    reservation_id      UUID,
    order_id            TEXT,
    reason              TEXT,
    PRIMARY KEY (sku, location, version)
);
