-- fedgroup schema 9: the group's avatar (its `icon` on the fediverse), kept in the database so that a backup
-- holds it and a change of avatar commits with the Update that announces it.
CREATE TABLE group_avatar (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    media_type TEXT NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg', 'image/webp')),
    digest TEXT NOT NULL,
    data BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
