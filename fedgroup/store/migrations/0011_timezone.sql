-- fedgroup schema 11: the group's time zone (an IANA name), in which people enter and read every date.
ALTER TABLE site ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
