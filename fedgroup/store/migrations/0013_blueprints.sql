-- fedgroup schema 13: blueprints (case studies of finished campaigns), drafts, and adoptions.
--
-- A draft campaign is visible only to organizers and never federates; publishing it sends the Create.
-- A campaign adopted from another group's blueprint names it (adapted_from, the blueprint's URL).

ALTER TABLE campaigns ADD COLUMN draft INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN adapted_from TEXT;

-- Our own blueprints: one per finished campaign. Texts are plain text written by an organizer; `results`
-- and `template` are JSON snapshots taken when it was published (totals only, never a member).
CREATE TABLE blueprints (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL UNIQUE REFERENCES campaigns (id),
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    what_worked TEXT NOT NULL,
    steps TEXT NOT NULL,
    do_differently TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'followers')),
    results TEXT NOT NULL,
    succeeded INTEGER NOT NULL,
    template TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    adapted_from TEXT,
    published_at TEXT NOT NULL
);

-- Campaigns of other groups that adopted one of our blueprints (directly, or through an adoption of it:
-- `via` is then the intermediate blueprint). Each was checked against the adopter's own campaign document,
-- fetched from its host. `results` (JSON) once its outcome was reported; `hidden` by an organizer here.
CREATE TABLE blueprint_adoptions (
    id INTEGER PRIMARY KEY,
    blueprint_id INTEGER NOT NULL REFERENCES blueprints (id) ON DELETE CASCADE,
    campaign_object TEXT NOT NULL,
    adopter_group TEXT NOT NULL,
    via TEXT,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    unlisted INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER NOT NULL DEFAULT 0,
    results TEXT,
    succeeded INTEGER,
    first_reported_at TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    UNIQUE (blueprint_id, campaign_object)
);
CREATE INDEX blueprint_adoptions_group ON blueprint_adoptions (adopter_group);

-- What we adopted: the blueprint as fetched (from its origin), and the groups up its lineage that hear
-- about our campaign (JSON list of {blueprint, group, inbox}, the direct origin first).
CREATE TABLE adopted_blueprints (
    campaign_id INTEGER PRIMARY KEY REFERENCES campaigns (id),
    blueprint_object TEXT NOT NULL,
    origin_group TEXT NOT NULL,
    document TEXT NOT NULL,
    lineage TEXT NOT NULL,
    unlisted INTEGER NOT NULL DEFAULT 0,
    adopted_at TEXT NOT NULL
);

-- Blueprints partner groups (groups we follow) published: a list to adopt from.
CREATE TABLE partner_blueprints (
    id INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL UNIQUE,
    group_actor TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    received_at TEXT NOT NULL
);
