-- fedgroup schema 2: goals, pledge options, members, pledges, votes, partner groups' campaigns and pledges,
-- comments. Amounts are decimal numbers stored as text so that no float ever touches money.

ALTER TABLE campaigns ADD COLUMN multiple_choice INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN outcome TEXT;
ALTER TABLE campaigns ADD COLUMN outcome_at TEXT;
-- Set in the transaction that changes a total; the totals publisher federates one Update per burst.
ALTER TABLE campaigns ADD COLUMN totals_changed_at TEXT;
ALTER TABLE campaigns ADD COLUMN totals_published_at TEXT;

CREATE TABLE campaign_goals (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('money', 'hours', 'items', 'people')),
    target TEXT NOT NULL,
    unit TEXT,
    PRIMARY KEY (campaign_id, kind)
);

CREATE TABLE campaign_options (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount TEXT NOT NULL,
    UNIQUE (campaign_id, label)
);

-- People of the group. Never ActivityPub actors: nothing here is ever sent to another server.
CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'organizer', 'member')),
    password_hash TEXT,
    created_at TEXT NOT NULL
);

-- Campaigns of groups we follow (coalition partners), as they federated them to us.
CREATE TABLE partner_campaigns (
    id INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL UNIQUE,
    group_actor TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    url TEXT,
    goals TEXT NOT NULL,
    options TEXT NOT NULL,
    deadline TEXT,
    closed INTEGER NOT NULL DEFAULT 0,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'followers')),
    published_at TEXT,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX partner_campaigns_group ON partner_campaigns (group_actor);

-- A member's pledge, to one of our campaigns or to a partner's. One per member, campaign and goal kind.
CREATE TABLE pledges (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    campaign_id INTEGER REFERENCES campaigns (id) ON DELETE CASCADE,
    partner_campaign_id INTEGER REFERENCES partner_campaigns (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    amount TEXT NOT NULL,
    option_label TEXT,
    note TEXT NOT NULL DEFAULT '',
    fulfilled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((campaign_id IS NULL) != (partner_campaign_id IS NULL))
);
CREATE UNIQUE INDEX pledges_local ON pledges (campaign_id, member_id, kind) WHERE campaign_id IS NOT NULL;
CREATE UNIQUE INDEX pledges_partner ON pledges (partner_campaign_id, member_id, kind)
    WHERE partner_campaign_id IS NOT NULL;
CREATE INDEX pledges_member ON pledges (member_id);

-- Poll votes from remote accounts. The voter id is kept only to count each voter once; it is never shown
-- to the public or sent anywhere.
CREATE TABLE votes (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    option_id INTEGER NOT NULL REFERENCES campaign_options (id) ON DELETE CASCADE,
    voter TEXT NOT NULL,
    object_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    UNIQUE (campaign_id, voter, option_id)
);
CREATE INDEX votes_voter ON votes (voter);

-- Aggregate pledges partner groups sent to our campaigns: amounts and a head count, no names.
CREATE TABLE group_pledges (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    group_actor TEXT NOT NULL,
    pledge_id TEXT NOT NULL UNIQUE,
    pledgers INTEGER NOT NULL,
    contributions TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (campaign_id, group_actor)
);

-- The aggregate we last sent to a partner for one of its campaigns (so we can Update or Undo it).
CREATE TABLE sent_group_pledges (
    partner_campaign_id INTEGER PRIMARY KEY REFERENCES partner_campaigns (id) ON DELETE CASCADE,
    pledge_id TEXT NOT NULL UNIQUE,
    document TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Replies to our campaigns from the fediverse, sanitised; shown to organizers.
CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL UNIQUE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    author TEXT NOT NULL,
    content TEXT NOT NULL,
    url TEXT,
    published_at TEXT,
    received_at TEXT NOT NULL
);
CREATE INDEX comments_campaign ON comments (campaign_id);

-- Likes and boosts of our campaigns from the fediverse (never pledges).
CREATE TABLE reactions (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('like', 'share')),
    activity_id TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    UNIQUE (campaign_id, actor, kind)
);
