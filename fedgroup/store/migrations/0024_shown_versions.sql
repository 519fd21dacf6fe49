-- What the kept page renderings show, scope by scope ('c:<campaign id>' for a campaign's rows, 'all' for
-- anything every page shows), with the version at which each last changed. The row with the empty scope is
-- the clock every change takes its version from. Triggers created when the database is opened
-- (store/versions.py) keep it current for every writer, CLI processes included.
CREATE TABLE shown_versions (
    scope TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX shown_versions_by_version ON shown_versions (version);
INSERT INTO shown_versions (scope, version) VALUES ('', 1);
