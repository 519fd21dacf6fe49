"""Upgrades: the database is copied before it is migrated, and a failing migration changes nothing."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sqlite3
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest

from fedgroup import config as config_module
from fedgroup import store
from fedgroup.store import datadir
from fedgroup.store.db import latest_schema_version
from tests.test_cli import CLI, free_port


def package_migrations(into: Path, up_to: int | None = None) -> Path:
    """The package's migration files (the first `up_to` of them) copied into a directory of their own."""
    into.mkdir()
    for entry in resources.files("fedgroup.store.migrations").iterdir():
        if entry.name.endswith(".sql") and (up_to is None or int(entry.name[:4]) <= up_to):
            (into / entry.name).write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    return into


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def version_of(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    finally:
        conn.close()


async def test_serve_copies_an_older_database_before_migrating_it(tmp_path):
    latest = latest_schema_version()
    older = latest - 1
    data = tmp_path / "water"
    data.mkdir()
    port = free_port()
    # A group made by the previous fedgroup: its schema stops one migration short.
    config = config_module.from_mapping(data, {"base_url": f"http://127.0.0.1:{port}", "listen_port": port})
    keys = datadir.generate_key(), datadir.generate_key()
    site = store.site.Site("water", "Water", "", keys[0].private_pem, keys[0].public_pem,
                           keys[1].private_pem, keys[1].public_pem)
    async with store.Database(config.database_path, migrations=package_migrations(tmp_path / "old", older)) as db:
        await db.write(lambda conn: store.site.create(conn, site, datetime.now(UTC)))
    (data / "config.toml").write_text(config_module.to_toml(config), encoding="utf-8")
    before = dump(config.database_path)

    process = await asyncio.create_subprocess_exec(
        *CLI, "serve", "--data-dir", str(data), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out = ""
        while "fedgroup serving" not in out:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, f"serve exited: {out} {(await process.stderr.read()).decode()}"
            out += line.decode()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 20)
    copy = data / f"fedgroup.schema-{older}.sqlite3"
    assert f"copied to {copy}" in err.decode(), err.decode()
    assert copy.stat().st_mode & 0o077 == 0, "the copy holds the keys: private to the owner"
    assert dump(copy) == before and version_of(copy) == older
    assert version_of(config.database_path) == latest


async def test_a_failing_migration_leaves_the_database_and_its_copy_as_they_were(tmp_path):
    config = await datadir.create(tmp_path / "water", "https://water.example", "Water")
    latest = latest_schema_version()
    before = dump(config.database_path)
    migrations = package_migrations(tmp_path / "next")
    # The next fedgroup's migrations: the first works, the second fails halfway through.
    (migrations / f"{latest + 1:04d}_works.sql").write_text("CREATE TABLE upgraded (x INTEGER);\n")
    (migrations / f"{latest + 2:04d}_fails.sql").write_text(
        "ALTER TABLE site ADD COLUMN motto TEXT;\nINSERT INTO no_such_table VALUES (1);\n"
    )
    with pytest.raises(store.DatabaseError) as failure:
        await store.Database(config.database_path, migrations=migrations).open()
    message = str(failure.value)
    copy = config.database_path.with_name(f"fedgroup.schema-{latest}.sqlite3")
    assert "\n" not in message
    assert f"{latest + 2:04d}_fails.sql failed (no such table: no_such_table)" in message
    assert f"the database is unchanged at schema {latest}; a copy made before is {copy}" in message
    assert dump(config.database_path) == before  # neither the table of the migration that worked nor the column
    assert dump(copy) == before
    # Run again with the fixed migration: the same database upgrades, and the first copy is kept.
    (migrations / f"{latest + 2:04d}_fails.sql").write_text("ALTER TABLE site ADD COLUMN motto TEXT;\n")
    async with store.Database(config.database_path, migrations=migrations) as db:
        assert await db.schema_version() == latest + 2
    assert dump(copy) == before
    assert config.database_path.with_name(f"fedgroup.schema-{latest}.2.sqlite3").exists()


async def test_a_new_or_current_database_is_not_copied(tmp_path):
    config = await datadir.create(tmp_path / "water", "https://water.example", "Water")
    async with store.Database(config.database_path):
        pass
    assert sorted(p.name for p in config.data_dir.iterdir() if "schema" in p.name) == []
    shutil.rmtree(config.data_dir)
