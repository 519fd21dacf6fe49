-- fedgroup schema 10: one-time links to choose a new password (`fedgroup member reset-password`). As for
-- invitations, only a digest of the token is stored.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX password_resets_member ON password_resets (member_id);
