-- fedgroup schema 14: a campaign's money record (for campaigns with a money goal).
-- Amounts are decimal text in the currency of the campaign's money goal; days are YYYY-MM-DD.

-- Money received: a total from one source ("cash box at the fair", "online"), or from a sponsor who agreed
-- to be named (`sponsor` is the name thanked in public). `member_id` links an entry to a member's own
-- contribution (it shows in their data export); erasing the member removes the link, never the amount.
CREATE TABLE money_received (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    amount TEXT NOT NULL,
    received_on TEXT NOT NULL,
    sponsor TEXT,
    member_id INTEGER REFERENCES members (id) ON DELETE SET NULL,
    recorded_by INTEGER REFERENCES members (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX money_received_campaign ON money_received (campaign_id);
CREATE INDEX money_received_member ON money_received (member_id) WHERE member_id IS NOT NULL;

-- Money spent. It counts only once approved by an organizer other than the one who recorded it.
CREATE TABLE money_expenses (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    what TEXT NOT NULL,
    amount TEXT NOT NULL,
    spent_on TEXT NOT NULL,
    receipt TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    recorded_by INTEGER REFERENCES members (id) ON DELETE SET NULL,
    decided_by INTEGER REFERENCES members (id) ON DELETE SET NULL,
    decided_at TEXT,
    created_at TEXT NOT NULL,
    CHECK (state = 'pending' OR decided_at IS NOT NULL),
    CHECK (state != 'approved' OR decided_by IS NULL OR recorded_by IS NULL OR decided_by != recorded_by)
);
CREATE INDEX money_expenses_campaign ON money_expenses (campaign_id);
