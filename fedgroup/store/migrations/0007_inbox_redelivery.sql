-- fedgroup schema 7: telling a new event that reuses an activity id from a repeat of one already received.
-- Misskey gives every unfollow of the same account the same Undo id, Takahē reuses a Follow's id when
-- someone follows again; both must be processed again. A repeat (a retry, a replayed request) must not.
-- Rows of processed activities are forgotten once a request of their age could no longer be accepted.

-- For an Undo: the id of the activity (or object) it undoes.
ALTER TABLE inbox_activities ADD COLUMN undoes TEXT;
-- A digest of the request's signature: the same signed request sent again is a replay, never a new event.
ALTER TABLE inbox_activities ADD COLUMN signature TEXT;
CREATE INDEX inbox_activities_undoes ON inbox_activities (undoes) WHERE undoes IS NOT NULL;
