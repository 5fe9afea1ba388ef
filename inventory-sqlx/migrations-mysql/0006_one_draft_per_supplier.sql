-- At most one draft purchase order per supplier. MySQL has no partial unique index: a
-- generated column holds the supplier of a draft only (NULL otherwise, and NULLs never
-- collide), and is unique.
ALTER TABLE purchase_orders
    ADD COLUMN draft_of VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
        AS (IF(status = 'draft', supplier, NULL)) STORED,
    ADD UNIQUE KEY purchase_orders_one_draft (draft_of);
