-- The SKU of each line of a channel's order, by the channel's line id, numbered as in
-- inventory-sqlite: an order edit names its lines by id alone. Kept for good (not
-- forgotten by time, as the inbox is).
CREATE TABLE order_lines (
    order_id  TEXT NOT NULL,
    line_id   TEXT NOT NULL,
    sku       TEXT NOT NULL,
    PRIMARY KEY (order_id, line_id)
);
