-- Handled messages (webhook deliveries) by source and id, numbered as in
-- inventory-sqlx: a delivery repeated after a restart, or to another app server, is
-- recognised. Times are microseconds since the Unix epoch; old rows are forgotten by
-- time.
CREATE TABLE inbox (
    source      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    handled_at  INTEGER NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;
CREATE INDEX inbox_by_time ON inbox (handled_at);
