-- fedgroup schema 27: the admin's first steps (name the group, invite an organizer, create the first
-- campaign) are shown on /home until they are all done or an admin puts them away; when they were put away
-- is kept here, so the choice holds across sessions and restarts.
ALTER TABLE site ADD COLUMN first_steps_dismissed_at TEXT;
