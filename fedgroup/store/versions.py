"""Which part of what the pages show changed, and when: the `shown_versions` table, kept current by triggers.

A kept rendering (store/kept.py) is thrown away only when a write changed something it shows. Every table
whose rows a page may show gets triggers that bump a scope's version on each insert, update or delete: the
campaign's scope ('c:<id>') for a table with a campaign column, 'all' for any other. The triggers are part of
the database, so a change made by a CLI command in another process bumps them just as the server's own
writes do, and no write path can forget to.

The triggers are (re)created whenever the database is opened, from the schema as it then is, so that a table
added by a later migration is covered without anyone remembering to: only the tables named in NEVER_SHOWN are
left out (their writes are what an inbox flood is made of, and no kept page shows them).
"""

from __future__ import annotations

import sqlite3

TABLE = "shown_versions"
CLOCK = ""  # the scope whose version every change takes its own from
EVERYTHING = "all"  # the scope of rows every page may show (the group's name, members, partners...)
CAMPAIGN_PREFIX = "c:"
# Tables no kept rendering reads: the inbox and outbox queues, remote actors' documents, follower lists,
# sign-in state, moderation, replies and likes (not on the public pages), members' feed links and mail. A
# table not listed here bumps a version on every write: the safe default for a table added later.
NEVER_SHOWN = frozenset(
    {
        TABLE,
        "schema_version",
        "inbox_activities",
        "outbox_activities",
        "deliveries",
        "delivery_hosts",
        "remote_actors",
        "followers",
        "following",
        "sessions",
        "invites",
        "password_resets",
        "two_factor",
        "recovery_codes",
        "reports",
        "blocks",
        "comments",
        "reactions",
        "feed_links",
        "mail_preferences",
        "mail_events",
        "mail_items",
        "mail_queue",
        "mail_calls",
        "queue_progress",
    }
)
# The column that names a row's campaign, by table (a table not listed is looked at for `campaign_id`).
CAMPAIGN_COLUMN = {"campaigns": "id"}
# Columns no page shows, by table: an update of only these bumps nothing (the scheduler's bookkeeping of when
# totals changed and were federated, written every few seconds in a vote storm).
UNSHOWN_COLUMNS = {"campaigns": frozenset({"totals_changed_at", "totals_published_at"})}
TRIGGER_PREFIX = "shown_"


def scope_of_campaign(campaign_id: int) -> str:
    return f"{CAMPAIGN_PREFIX}{campaign_id}"


def _bump(row: str, column: str | None) -> str:
    """Statements setting a scope's version to the clock's. Not INSERT OR REPLACE, nor an upsert: a trigger's
    conflict clause gives way to its outer statement's (an upsert's turns it into a failure)."""
    scope = (
        f"COALESCE('{CAMPAIGN_PREFIX}' || {row}.{column}, '{EVERYTHING}')" if column else f"'{EVERYTHING}'"
    )
    clock = f"(SELECT version FROM {TABLE} WHERE scope = '{CLOCK}')"
    return (
        f"UPDATE {TABLE} SET version = {clock} WHERE scope = {scope};"
        f" INSERT INTO {TABLE} (scope, version) SELECT {scope}, {clock}"
        f" WHERE NOT EXISTS (SELECT 1 FROM {TABLE} WHERE scope = {scope});"
    )


def wanted_triggers(conn: sqlite3.Connection) -> dict[str, str]:
    """The trigger statements the schema calls for, by trigger name."""
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    wanted: dict[str, str] = {}
    for table in tables:
        if table in NEVER_SHOWN:
            continue
        ordered = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
        columns = set(ordered)
        unshown = UNSHOWN_COLUMNS.get(table, frozenset())
        shown_columns = ", ".join(f'"{c}"' for c in ordered if c not in unshown)
        column = CAMPAIGN_COLUMN.get(table) or ("campaign_id" if "campaign_id" in columns else None)
        tick = f"UPDATE {TABLE} SET version = version + 1 WHERE scope = '{CLOCK}';"
        for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
            name = f"{TRIGGER_PREFIX}{table}_{event.lower()}"
            body = " ".join([tick, *(_bump(row, column) for row in rows)])
            what = f"UPDATE OF {shown_columns}" if event == "UPDATE" and unshown & columns else event
            wanted[name] = f'CREATE TRIGGER "{name}" AFTER {what} ON "{table}" BEGIN {body} END'
    return wanted


def install_triggers(conn: sqlite3.Connection) -> None:
    """Make the triggers match the schema (on the writer connection, outside a transaction). Changes nothing
    when they already do, so that opening the database for a CLI command writes nothing."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone():
        return  # a database of another schema (tests of the migration machinery)
    if _installed(conn) == wanted_triggers(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Again inside the lock: another process opening the database may have just done it.
        have, wanted = _installed(conn), wanted_triggers(conn)
        for name in have:
            if have[name] != wanted.get(name):
                conn.execute(f'DROP TRIGGER "{name}"')
        for name, sql in wanted.items():
            if have.get(name) != sql:
                conn.execute(sql)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _installed(conn: sqlite3.Connection) -> dict[str, str]:
    return {
        name: sql
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?",
            (f"{TRIGGER_PREFIX}%",),
        )
    }


def changes_since(conn: sqlite3.Connection, version: int) -> list[tuple[str, int]]:
    """Every scope that changed after `version`, with its version now (the clock's row among them)."""
    rows = conn.execute(f"SELECT scope, version FROM {TABLE} WHERE version > ?", (version,))
    return [(scope, int(v)) for scope, v in rows]
