-- Handled messages (webhook deliveries) by source and id, numbered as in
-- inventory-sqlite: a delivery repeated after a restart, or to another app server, is
-- recognised. Old rows are forgotten by time.
CREATE TABLE inbox (
    source      TEXT        NOT NULL,
    id          TEXT        NOT NULL,
    handled_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX inbox_by_time ON inbox (handled_at);
