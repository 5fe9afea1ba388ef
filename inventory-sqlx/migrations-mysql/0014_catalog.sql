-- The catalog: each SKU's settings as JSON, and one version bumped by every change.
CREATE TABLE catalog (
    sku       VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    settings  LONGTEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE catalog_version (
    id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version  BIGINT  NOT NULL CHECK (version >= 0)
) ENGINE = InnoDB;
INSERT INTO catalog_version (id, version) VALUES (1, 0);
