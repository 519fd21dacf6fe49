-- fedgroup schema 18: gatherings (a time and a place, or a link) and who said they come.

-- Times are UTC; `timezone` is the zone people read them in (the group's when it was created, or chosen).
-- A place as text with optional coordinates, and/or a link to join online. No capacity: no limit.
-- A gathering may belong to a campaign: who comes then counts toward the campaign's `people` goal.
CREATE TABLE gatherings (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    timezone TEXT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    latitude REAL,
    longitude REAL,
    online_url TEXT,
    capacity INTEGER CHECK (capacity IS NULL OR capacity > 0),
    campaign_id INTEGER REFERENCES campaigns (id) ON DELETE SET NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'followers', 'members')),
    status TEXT NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'cancelled')),
    created_by INTEGER REFERENCES members (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX gatherings_starts ON gatherings (starts_at);
CREATE INDEX gatherings_campaign ON gatherings (campaign_id) WHERE campaign_id IS NOT NULL;

-- Who comes: a member, or a remote account (by its id). The row's id is the order of arrival (first come,
-- first served). For a remote account only what answering it needs: its RSVP activity's id (a Join is
-- accepted by naming it) and its inbox (to tell it when a place frees up). Not going is no row at all.
CREATE TABLE gathering_rsvps (
    id INTEGER PRIMARY KEY,
    gathering_id INTEGER NOT NULL REFERENCES gatherings (id) ON DELETE CASCADE,
    member_id INTEGER REFERENCES members (id) ON DELETE CASCADE,
    actor TEXT,
    rsvp_activity TEXT,
    rsvp_type TEXT,
    inbox TEXT,
    state TEXT NOT NULL CHECK (state IN ('going', 'waiting')),
    created_at TEXT NOT NULL,
    CHECK ((member_id IS NULL) != (actor IS NULL))
);
CREATE UNIQUE INDEX gathering_rsvps_member ON gathering_rsvps (gathering_id, member_id) WHERE member_id IS NOT NULL;
CREATE UNIQUE INDEX gathering_rsvps_actor ON gathering_rsvps (gathering_id, actor) WHERE actor IS NOT NULL;
CREATE INDEX gathering_rsvps_by_actor ON gathering_rsvps (actor) WHERE actor IS NOT NULL;
