-- fedgroup schema 24: a closed campaign's figures are frozen, and members learn why a pledge was withdrawn.
-- final_tally holds the totals as they stood when the campaign closed (JSON, written by the rules): what
-- the outcome states and every later Update carries, whatever happens to the inputs (a member erased, a
-- partner leaving). Reopening (an organizer's explicit act) clears it and stamps reopened_at.
ALTER TABLE campaigns ADD COLUMN final_tally TEXT;
ALTER TABLE campaigns ADD COLUMN reopened_at TEXT;

-- What a member is told on "My pledges" when a pledge of theirs was withdrawn by someone else (the group
-- leaving a coalition). Local only, erased with the member.
CREATE TABLE pledge_notices (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX pledge_notices_member ON pledge_notices (member_id);
