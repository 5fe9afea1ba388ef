-- Version 1 of the schema, numbered as in inventory-sqlite and the PostgreSQL backend.
-- MySQL and MariaDB databases are new to this version of the library: each migration
-- creates its version's tables, and none carries data over from an earlier shape (the
-- backfills the other backends run have no rows to move here).
--
-- Identifiers are utf8mb4 with the binary collation (`sku-a` and `SKU-A` are two SKUs,
-- ordered by code point, as the core orders them); times are UTC DATETIME(6)
-- (microseconds); ids are BINARY(16) UUIDs; JSON is LONGTEXT (MariaDB's JSON is
-- LONGTEXT anyway), read back as text.

CREATE TABLE stock (
    sku         VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    location    VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    on_hand     BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved    BIGINT NOT NULL CHECK (reserved >= 0),
    `committed` BIGINT NOT NULL CHECK (`committed` >= 0),
    in_transit  BIGINT NOT NULL CHECK (in_transit >= 0),
    version     BIGINT NOT NULL,
    PRIMARY KEY (sku, location)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE reservations (
    id          BINARY(16)   NOT NULL PRIMARY KEY,
    order_id    VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    status      VARCHAR(16)  NOT NULL
                CHECK (status IN ('active', 'committed', 'shipped', 'released', 'expired')),
    created_at  DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    `lines`     LONGTEXT     NOT NULL,
    request     LONGTEXT     NOT NULL,
    KEY reservations_due (status, expires_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE active_holds (
    reservation_id  BINARY(16)  NOT NULL,
    sku             VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    expires_at      DATETIME(6) NOT NULL,
    PRIMARY KEY (reservation_id, sku),
    KEY active_holds_by_sku (sku, expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE ledger (
    sku                 VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    location            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    version             BIGINT       NOT NULL,
    at                  DATETIME(6)  NOT NULL,
    movement            VARCHAR(32)  NOT NULL,
    quantity            BIGINT       NOT NULL,
    before_on_hand      BIGINT       NOT NULL,
    before_reserved     BIGINT       NOT NULL,
    before_committed    BIGINT       NOT NULL,
    before_in_transit   BIGINT       NOT NULL,
    after_on_hand       BIGINT       NOT NULL,
    after_reserved      BIGINT       NOT NULL,
    after_committed     BIGINT       NOT NULL,
    after_in_transit    BIGINT       NOT NULL,
    reservation_id      BINARY(16),
    order_id            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    reason              TEXT,
    PRIMARY KEY (sku, location, version)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
