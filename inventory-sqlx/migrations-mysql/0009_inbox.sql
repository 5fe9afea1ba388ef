-- Ids of messages already handled (webhook deduplication).
CREATE TABLE inbox (
    source      VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    id          VARCHAR(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    handled_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (source, id),
    KEY inbox_by_time (handled_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
