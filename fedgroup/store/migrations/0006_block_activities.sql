-- fedgroup schema 6: the Block we send for an account block, so that unblocking can Undo it (the account's
-- cached actor, and with it its inbox, is forgotten when it is blocked).

ALTER TABLE blocks ADD COLUMN activity_id TEXT;
ALTER TABLE blocks ADD COLUMN inbox TEXT;
