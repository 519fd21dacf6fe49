-- fedgroup schema 4: reports (ActivityPub Flag) received from other servers and sent by us.
-- A received report keeps the reporting server's actor (usually its instance actor) and the comment it gave;
-- a sent report records what we reported and why, never which member asked for it.

CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    direction TEXT NOT NULL CHECK (direction IN ('received', 'sent')),
    activity_id TEXT NOT NULL UNIQUE,
    remote_actor TEXT NOT NULL,       -- received: who sent it; sent: the account we reported
    objects TEXT NOT NULL,            -- JSON list of the reported ids
    comment TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX reports_open ON reports (direction, resolved_at, created_at);
