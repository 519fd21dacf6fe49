-- fedgroup schema 28: languages. The group's language as set on its settings page (NULL: config.toml's
-- default_language), and each member's own (NULL: their browser's, then the group's).
ALTER TABLE site ADD COLUMN language TEXT;
ALTER TABLE members ADD COLUMN language TEXT;
-- The language a campaign's title and text are written in (NULL: the group's), and its second language:
-- NULL, or a JSON object {"language": code, "title": ..., "body": ...} written by an organizer.
ALTER TABLE campaigns ADD COLUMN language TEXT;
ALTER TABLE campaigns ADD COLUMN second_language TEXT;
-- A partner campaign's text in each language its group sent (`contentMap`), sanitized: JSON {code: html}.
ALTER TABLE partner_campaigns ADD COLUMN content_map TEXT;
