-- fedgroup schema 20: proposals, which members decide together. A proposal never federates; an organizer may
-- publish its outcome (counts only) as a Note.

CREATE TABLE proposals (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('consent', 'choice', 'ranked', 'score')),
    options TEXT NOT NULL DEFAULT '[]', -- the options' labels, a JSON list (none for consent)
    closes_at TEXT NOT NULL,
    quorum INTEGER, -- members who must take part for the result to stand; NULL: no quorum
    anonymous INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_at TEXT,
    -- The count when it closed (JSON: the result line and per-option counts, never a name): it stays as it was
    -- when a member who took part is erased later.
    final_count TEXT,
    outcome TEXT, -- written by the facilitator after it closes
    outcome_at TEXT,
    published_at TEXT, -- when the outcome went to followers as a Note
    published_visibility TEXT CHECK (published_visibility IN ('public', 'followers')),
    proposed_by INTEGER REFERENCES members (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX proposals_open_by_closing ON proposals (closes_at) WHERE status = 'open';

-- A named proposal's positions: one per member, changed in place until it closes.
CREATE TABLE proposal_positions (
    proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    choice TEXT NOT NULL, -- JSON: "agree", an option's index, a ranking [2, 0], scores [5, 0, 3]
    reason TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (proposal_id, member_id)
);

-- An anonymous proposal keeps two tables that share nothing but the proposal. Who has taken part (so that
-- nobody takes part twice): no choice, no time. The positions: no member, no time, keyed by the SHA-256 of a
-- random change code that only the member holds. Both are WITHOUT ROWID, so rows are stored in key order
-- (member id; a random digest), never in the order people took part; with secure_delete on, a changed
-- position leaves no old copy in the file.
CREATE TABLE proposal_participants (
    proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (proposal_id, member_id)
) WITHOUT ROWID;

CREATE TABLE proposal_ballots (
    proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    ballot_key TEXT NOT NULL,
    choice TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (proposal_id, ballot_key)
) WITHOUT ROWID;
