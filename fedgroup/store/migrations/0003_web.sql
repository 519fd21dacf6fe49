-- fedgroup schema 3: web sign-in sessions, invitations, and blocks of remote actors and domains.
-- Tokens are stored as SHA-256 digests: a copy of the database does not let anyone sign in.

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_member ON sessions (member_id);

CREATE TABLE invites (
    token_hash TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'organizer', 'member')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

-- An organizer's block: an actor id, or a whole domain (host[:port]).
CREATE TABLE blocks (
    target TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('actor', 'domain')),
    created_at TEXT NOT NULL
);
