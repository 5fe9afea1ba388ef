-- The cost of one command, numbered as in inventory-sqlite. A write statement raises a
-- serialization failure through this function when it finds that a row its unit read
-- has changed, or that a row it inserts was created by another unit first: the whole
-- statement (and its transaction) is undone and the core runs the unit again. It
-- decides nothing; it only turns a failed guard into a retryable error.
CREATE FUNCTION inventory_stale(what TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'inventory unit is stale: %', what USING ERRCODE = 'serialization_failure';
END
$$;

-- One table of holds instead of two, as in inventory-sqlite: a row per SKU of each open
-- (active or committed) reservation, with its expiry while active (NULL once
-- committed). A reservation inserts one row and two index entries here instead of two
-- rows and four entries, and leaves one dead row instead of two when it closes.
CREATE TABLE holds (
    reservation_id  UUID        NOT NULL,
    sku             TEXT        NOT NULL,
    expires_at      TIMESTAMPTZ,
    PRIMARY KEY (reservation_id, sku)
);
CREATE INDEX holds_by_sku ON holds (sku, expires_at);
INSERT INTO holds (reservation_id, sku, expires_at)
SELECT o.reservation_id, o.sku, a.expires_at
FROM open_holds o
LEFT JOIN active_holds a ON a.reservation_id = o.reservation_id AND a.sku = o.sku;
DROP TABLE active_holds;
DROP TABLE open_holds;

-- The id is derived from the order id: the primary key already keeps one reservation
-- per order, and the unique index on order_id was one more index entry per reservation.
ALTER TABLE reservations DROP CONSTRAINT reservations_order_id_key;
