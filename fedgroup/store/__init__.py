"""Storage: SQLite through aiosqlite. Knows tables and SQL, nothing of ActivityPub or HTML."""

from fedgroup.store import actors, campaigns, follows, inbox, members, outbox, pledges, site
from fedgroup.store.db import Database, DatabaseError, from_db_time, to_db_time

__all__ = [
    "Database",
    "DatabaseError",
    "actors",
    "campaigns",
    "follows",
    "from_db_time",
    "inbox",
    "members",
    "outbox",
    "pledges",
    "site",
    "to_db_time",
]
