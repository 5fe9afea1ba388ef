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
