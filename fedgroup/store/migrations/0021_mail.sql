-- fedgroup schema 21: mail to members — what each member chose to receive, the notifications waiting for
-- their time (at once, a daily or a weekly digest, after a break), the outbound mail queue, and organizers'
-- calls. Member addresses stay in members.email; a queued mail copies its recipient so that what is sent is
-- what was queued.

-- A member without a row has the defaults (rules/notifications.py DEFAULT_PREFERENCES).
CREATE TABLE mail_preferences (
    member_id INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    kinds TEXT NOT NULL,  -- the kinds they receive, comma-separated
    delivery TEXT NOT NULL CHECK (delivery IN ('now', 'daily', 'weekly')),
    break_until TEXT,  -- YYYY-MM-DD in the group's time zone: everything but break_keeps waits until then
    break_keeps TEXT NOT NULL DEFAULT '',
    asks_per_week INTEGER NOT NULL CHECK (asks_per_week BETWEEN 0 AND 50),
    updated_at TEXT NOT NULL
);

-- Something that happened that members may hear of (a campaign opened, closes soon, closed, an outcome, a
-- partner's campaign). Recorded once it has been turned into notifications, so that a restart neither
-- repeats nor forgets it.
CREATE TABLE mail_events (
    event TEXT PRIMARY KEY,
    handled_at TEXT NOT NULL
);

-- One notification for one member, waiting until release_at; notifications with the same batch go out as
-- one digest mail. mail_id is set in the transaction that queues the mail carrying it.
CREATE TABLE mail_items (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    notification TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    release_at TEXT NOT NULL,
    batch TEXT,  -- NULL: a mail of its own
    mail_id INTEGER REFERENCES mail_queue (id) ON DELETE SET NULL,
    dispatched_at TEXT,
    UNIQUE (member_id, notification)
);
CREATE INDEX mail_items_due ON mail_items (release_at) WHERE dispatched_at IS NULL;
CREATE INDEX mail_items_asks ON mail_items (member_id, kind, created_at);

-- The outbound queue. One row per (member, notification) and a fixed Message-ID: retried after an outage or
-- a crash with the same Message-ID, never queued twice. A sent row is kept (state 'sent') as the record
-- that it went; a refused one ('failed') with its error for admins.
CREATE TABLE mail_queue (
    id INTEGER PRIMARY KEY,
    member_id INTEGER REFERENCES members (id) ON DELETE CASCADE,
    notification TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    message BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    queued_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (member_id, notification)
);
CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at) WHERE state = 'queued';

-- An organizer's call to members ("we need 5 more people on Saturday"): who it was for, how many it reached
-- and how many their own weekly limit or a break held back. Never who.
CREATE TABLE mail_calls (
    id INTEGER PRIMARY KEY,
    sent_by INTEGER REFERENCES members (id) ON DELETE SET NULL,
    subject TEXT NOT NULL,
    audience TEXT NOT NULL,
    reached INTEGER NOT NULL,
    held_back INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
