-- fedgroup schema 5: partner groups are explicit, and partners' aggregates are bounded.
--
-- A follower is a partner group (its aggregate pledges count) only when it is a Group or Organization and an
-- organizer accepted it, or our group follows it. An organizer's decision is kept here; following is in
-- `following`. An aggregate that cannot count yet (from a group not yet accepted, or beyond what is plausible)
-- waits in held_group_pledges for an organizer; it is in no total meanwhile.

CREATE TABLE partners (
    actor_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('accepted', 'rejected')),
    decided_at TEXT NOT NULL
);

CREATE TABLE held_group_pledges (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    group_actor TEXT NOT NULL,
    pledge_id TEXT NOT NULL,
    pledgers INTEGER NOT NULL,
    contributions TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (campaign_id, group_actor)
);
CREATE INDEX held_group_pledges_group ON held_group_pledges (group_actor);

-- What an organizer approved beyond the usual bounds for this partner and campaign: a head count, and a JSON
-- object of amounts per goal kind. Later aggregates up to these count without asking again.
ALTER TABLE group_pledges ADD COLUMN approved_pledgers INTEGER;
ALTER TABLE group_pledges ADD COLUMN approved_amounts TEXT;

-- Aggregates counted before this version from groups that are not partners under these rules wait for an
-- organizer instead of staying in the totals; the totals are published again.
INSERT INTO held_group_pledges (campaign_id, group_actor, pledge_id, pledgers, contributions, reason, received_at)
    SELECT campaign_id, group_actor, pledge_id, pledgers, contributions, 'not-a-partner', updated_at
    FROM group_pledges
    WHERE group_actor NOT IN (SELECT actor_id FROM following WHERE state = 'accepted');
UPDATE campaigns SET totals_changed_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
    WHERE id IN (
        SELECT campaign_id FROM group_pledges
        WHERE group_actor NOT IN (SELECT actor_id FROM following WHERE state = 'accepted')
    );
DELETE FROM group_pledges WHERE group_actor NOT IN (SELECT actor_id FROM following WHERE state = 'accepted');
