-- fedgroup schema 22: when each queue's worker last got something done (an item delivered, processed,
-- rescheduled or given up), written in the same transaction as that work. A queue with work overdue and no
-- progress for `stall_minutes` is stalled: /healthz answers 503 and `fedgroup status` names it.
CREATE TABLE queue_progress (
    queue TEXT PRIMARY KEY CHECK (queue IN ('deliveries', 'inbox')),
    progressed_at TEXT NOT NULL
);
