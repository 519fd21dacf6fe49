-- fedgroup schema 8: a reused activity id whose content names something new is a new event.
-- GoToSocial's vote Create id names no poll: a vote cast again after it replaced its copy of a poll comes
-- with the id of the first vote and a new Note. Takahē sends every profile Update as `<actor>#update`.

-- What the activity is about, to tell such an event from a repeat: for a Create the ids of its objects,
-- for an Update a digest of its document; NULL for other types.
ALTER TABLE inbox_activities ADD COLUMN event TEXT;
