-- fedgroup schema 12: an activity whose handler failed is tried again later, like a delivery, instead of
-- being marked failed for good on its first error (a vote that met a locked campaign row, an actor whose
-- key fetch timed out). A row stays 'pending' while it is retried; 'failed' now means given up (past the
-- retry policy's age, or refused for good), and the row is kept with its last error for the operator.

-- Failed attempts so far.
ALTER TABLE inbox_activities ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- When a pending row is due again; NULL: at once (a new arrival).
ALTER TABLE inbox_activities ADD COLUMN next_attempt_at TEXT;
-- The `error` column holds the last attempt's error, also while the row is being retried.

DROP INDEX inbox_activities_pending;
CREATE INDEX inbox_activities_due ON inbox_activities (COALESCE(next_attempt_at, received_at))
    WHERE state = 'pending';
