"""The write path: jobs committed together, a failing job undone alone, nothing acknowledged uncommitted."""

from __future__ import annotations

import asyncio

import pytest

from fedgroup import store


class Refused(Exception):
    pass


async def test_a_failing_job_in_a_batch_rolls_back_only_itself(tmp_path):
    async with store.Database(tmp_path / "db.sqlite3") as db:
        await db.write(lambda conn: conn.execute("CREATE TABLE t (v TEXT UNIQUE)"))
        ran: list[str] = []

        def job(value: str, fail: bool = False):
            def run(conn):
                ran.append(value)
                conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
                if fail:
                    raise Refused(value)
                return value

            return run

        results = await asyncio.gather(
            db.write(job("a")), db.write(job("b", fail=True)), db.write(job("c")), return_exceptions=True
        )
        assert results[0] == "a" and results[2] == "c"
        assert isinstance(results[1], Refused)
        rows = await db.fetchall("SELECT v FROM t ORDER BY v")
        assert [r[0] for r in rows] == ["a", "c"]
        assert ran.count("b") >= 1 and sorted(set(ran)) == ["a", "b", "c"]

        # A job that breaks the database's own rules (a duplicate) is undone alone as well.
        results = await asyncio.gather(
            db.write(job("d")), db.write(job("a")), db.write(job("e")), return_exceptions=True
        )
        assert results[0] == "d" and results[2] == "e" and isinstance(results[1], Exception)
        rows = await db.fetchall("SELECT v FROM t ORDER BY v")
        assert [r[0] for r in rows] == ["a", "c", "d", "e"]


async def test_writes_are_committed_before_they_are_acknowledged(tmp_path):
    import sqlite3

    path = tmp_path / "db.sqlite3"
    async with store.Database(path) as db:
        await db.write(lambda conn: conn.execute("CREATE TABLE t (v INTEGER)"))
        for n in range(20):
            await db.write(lambda conn, n=n: conn.execute("INSERT INTO t (v) VALUES (?)", (n,)))
            other = sqlite3.connect(path)  # another process's view: only what is committed
            try:
                assert other.execute("SELECT COUNT(*) FROM t").fetchone()[0] == n + 1
            finally:
                other.close()
    with pytest.raises(store.DatabaseError):
        await db.write(lambda conn: conn.execute("SELECT 1"))


async def test_arrivals_are_acknowledged_only_once_committed_and_survive_a_caller_leaving(tmp_path):
    import sqlite3
    from datetime import UTC, datetime

    path = tmp_path / "db.sqlite3"
    async with store.Database(path) as db:
        arrivals = store.inbox.Arrivals(db)
        commits_before = await db.scalar("SELECT COUNT(*) FROM inbox_activities")
        assert commits_before == 0
        now = datetime.now(UTC)

        async def arrive(n: int) -> int:
            await arrivals.add(f"https://x.example/a/{n}", "https://x.example/u", "Create", "{}", now)
            other = sqlite3.connect(path)  # what another process (or a restart) would find
            try:
                found = other.execute(
                    "SELECT COUNT(*) FROM inbox_activities WHERE id = ?", (f"https://x.example/a/{n}",)
                ).fetchone()[0]
            finally:
                other.close()
            return found

        found = await asyncio.gather(*(arrive(n) for n in range(50)), arrive(7))  # one duplicate
        assert found == [1] * 51, "every add returned after its row was committed"
        assert await db.scalar("SELECT COUNT(*) FROM inbox_activities") == 50

        # A caller that gives up (its client went away) does not take the others' rows with it.
        task = asyncio.ensure_future(arrive(100))
        others = asyncio.gather(*(arrive(n) for n in range(101, 110)))
        await asyncio.sleep(0)
        task.cancel()
        assert await others == [1] * 9
        # The one that left was queued before the others, so its row was committed with them or before.
        assert await db.scalar("SELECT COUNT(*) FROM inbox_activities") == 60
