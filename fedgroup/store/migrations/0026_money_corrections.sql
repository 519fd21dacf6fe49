-- fedgroup schema 26: money record entries are corrected, never rewritten.
-- An organizer voids an entry with a reason (`voided_at`, `voided_by`, `void_reason`); a correction voids it
-- and records the right figures as a new entry that names the one it corrects (`corrects`). A voided entry
-- counts toward nothing but stays in the record, so the history of every figure can be read back. A
-- corrected expense starts pending again: a second organizer approves the corrected figures.
ALTER TABLE money_received ADD COLUMN corrects INTEGER REFERENCES money_received (id);
ALTER TABLE money_received ADD COLUMN voided_at TEXT;
ALTER TABLE money_received ADD COLUMN voided_by INTEGER REFERENCES members (id) ON DELETE SET NULL;
ALTER TABLE money_received ADD COLUMN void_reason TEXT;
ALTER TABLE money_expenses ADD COLUMN corrects INTEGER REFERENCES money_expenses (id);
ALTER TABLE money_expenses ADD COLUMN voided_at TEXT;
ALTER TABLE money_expenses ADD COLUMN voided_by INTEGER REFERENCES members (id) ON DELETE SET NULL;
ALTER TABLE money_expenses ADD COLUMN void_reason TEXT;
