-- fedgroup schema 16: delivered, not only pledged; batched releases of what partners see.

-- A member said "I did it" for this pledge; an organizer confirms it by marking it fulfilled.
ALTER TABLE pledges ADD COLUMN done_claimed_at TEXT;

-- Changes to our aggregate for a partner's campaign that the partner has not heard yet. One row per partner
-- campaign while changes wait; its release is due at due_at (or at once when enough changes are pending).
-- A row, so that a restart neither loses a pending release nor releases it early.
CREATE TABLE partner_releases (
    partner_campaign_id INTEGER PRIMARY KEY REFERENCES partner_campaigns (id) ON DELETE CASCADE,
    pending_changes INTEGER NOT NULL,
    first_change_at TEXT NOT NULL,
    due_at TEXT NOT NULL
);
CREATE INDEX partner_releases_due ON partner_releases (due_at);
