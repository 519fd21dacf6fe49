-- fedgroup schema 19: each member's private feed link (Atom and iCalendar). Only the SHA-256 digest of the
-- link's secret is kept, as for sessions: a copy of the database does not open anyone's feed. One link per
-- member; making a new one replaces the row, so the old link stops working at once.

CREATE TABLE feed_links (
    member_id INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
