-- The catalog: each SKU's settings (bundle components) as JSON, and one version number
-- bumped by every change, so an app server learns with one cheap read whether its copy
-- is current and a change is written only over the version it was decided on.
CREATE TABLE catalog (
    sku       TEXT NOT NULL PRIMARY KEY,
    settings  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE catalog_version (
    id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL CHECK (version >= 0)
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);
