-- fedgroup schema 23: moving the group to a new domain. On the new server, the old actor's id is among
-- the group's `alsoKnownAs` (its consent to the move); on the old one, `moved_to` is the new actor's id:
-- the actor then says `movedTo`, and everything else redirects there.
ALTER TABLE site ADD COLUMN also_known_as TEXT NOT NULL DEFAULT '[]';
ALTER TABLE site ADD COLUMN moved_to TEXT;
