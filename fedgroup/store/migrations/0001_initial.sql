-- fedgroup schema 1: the group, remote actors, follows, inbox, outbox, deliveries, campaigns.
-- Timestamps are UTC ISO-8601 text of fixed width (YYYY-MM-DDTHH:MM:SS.ffffffZ), so they sort as text.

-- The one group this server is, and the keys of its two actors (the Group and the instance Application).
CREATE TABLE site (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    handle TEXT NOT NULL,
    name TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    group_private_key TEXT NOT NULL,
    group_public_key TEXT NOT NULL,
    instance_private_key TEXT NOT NULL,
    instance_public_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Cache of remote actors (and their keys) we have fetched.
CREATE TABLE remote_actors (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    preferred_username TEXT,
    name TEXT,
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    followers TEXT,
    url TEXT,
    key_id TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    document TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
CREATE INDEX remote_actors_key_id ON remote_actors (key_id);

-- Remote actors following our group. The inboxes are copied here so delivery needs no join.
CREATE TABLE followers (
    actor_id TEXT PRIMARY KEY,
    follow_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX followers_follow_id ON followers (follow_id);

-- Remote actors our group follows (coalition partners).
CREATE TABLE following (
    actor_id TEXT PRIMARY KEY,
    follow_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    created_at TEXT NOT NULL
);

-- Every verified incoming activity, stored before we answer 202; the primary key makes each id processed once.
CREATE TABLE inbox_activities (
    id TEXT PRIMARY KEY,
    actor TEXT NOT NULL,
    type TEXT NOT NULL,
    document TEXT NOT NULL,
    received_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    error TEXT
);
CREATE INDEX inbox_activities_pending ON inbox_activities (received_at) WHERE state = 'pending';

-- What our actors said, as sent. Served (signed GETs) at its id; public ones page through the outbox.
CREATE TABLE outbox_activities (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    object_id TEXT,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'followers', 'direct')),
    signer TEXT NOT NULL DEFAULT 'group' CHECK (signer IN ('group', 'instance')),
    document TEXT NOT NULL,
    published_at TEXT NOT NULL
);
CREATE INDEX outbox_activities_public ON outbox_activities (published_at) WHERE visibility = 'public';
CREATE INDEX outbox_activities_object ON outbox_activities (object_id);

-- The delivery queue: one row per (activity, inbox) until it is delivered or given up.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    activity_id TEXT NOT NULL REFERENCES outbox_activities (id) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    host TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    UNIQUE (activity_id, inbox)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at);

-- Hosts that keep failing are paused as a whole rather than hammered row by row.
CREATE TABLE delivery_hosts (
    host TEXT PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    paused_until TEXT
);

-- Campaigns: what the group asks for. Goals, options and pledges hang off the id.
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'followers', 'members')),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    deadline TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    deleted_at TEXT
);
