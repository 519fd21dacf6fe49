"""Storage: SQLite (the standard library's sqlite3, on a writer and a reader thread). Knows tables and SQL, nothing of ActivityPub or HTML."""

from fedgroup.store import (
    actors,
    blocks,
    blueprints,
    campaigns,
    follows,
    inbox,
    members,
    money,
    outbox,
    partners,
    pledges,
    releases,
    reports,
    sessions,
    site,
    two_factor,
)
from fedgroup.store.db import Database, DatabaseError, from_db_time, to_db_time

__all__ = [
    "Database",
    "DatabaseError",
    "actors",
    "blocks",
    "blueprints",
    "campaigns",
    "follows",
    "from_db_time",
    "inbox",
    "members",
    "money",
    "outbox",
    "partners",
    "pledges",
    "releases",
    "reports",
    "sessions",
    "site",
    "to_db_time",
    "two_factor",
]
