-- fedgroup schema 15: two-factor sign-in (TOTP) for members, recovery codes, and whether organizers and admins
-- must use it. Recovery codes are stored as SHA-256 digests (they are long random strings): a copy of the
-- database does not let anyone use them. The TOTP secret itself must be readable to check a code.

CREATE TABLE two_factor (
    member_id INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    -- The last 30-second step whose code was accepted: a code is good once.
    last_step INTEGER NOT NULL DEFAULT 0,
    enabled_at TEXT NOT NULL
);

CREATE TABLE recovery_codes (
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (member_id, code_hash)
);

ALTER TABLE site ADD COLUMN two_factor_required INTEGER NOT NULL DEFAULT 0;
