"""The received activity a handler is working on, so that the handler's last write also marks it done, in the
same transaction: once that write commits, a crash cannot make the activity run again.

The inbox processor sets the activity (`handling`) around each handler call. A handler whose effect is one
write wraps that write's job in `finishing(job)`, or calls the mark from `done_mark()` inside its job when
only some outcomes are its last write. Outside the processor (or under `not_last()`) both do nothing.

"Done" written this way is provisional until the handler returns: if the handler raises after that write
(its follow-up failed), the processor puts the row back to pending and it runs again. Every handler stays
idempotent for that case, and for the handlers that write more than once (see actions/inbox.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Concatenate, ParamSpec, TypeVar

from fedgroup import store
from fedgroup.store.inbox import StoredActivity

P = ParamSpec("P")
T = TypeVar("T")

_current: ContextVar[StoredActivity | None] = ContextVar("inbox_activity_handled", default=None)


@contextmanager
def handling(activity: StoredActivity) -> Iterator[None]:
    """While a handler runs for `activity` (tasks started inside see it too: they copy the context)."""
    token = _current.set(activity)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def not_last() -> Iterator[None]:
    """A write that another follows in the same handler (one of several objects of a Create): no mark."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def done_mark() -> Callable[[sqlite3.Connection], None]:
    """A function that marks the activity being handled done, to be called inside the handler's last write."""
    activity = _current.get()

    def mark(conn: sqlite3.Connection) -> None:
        if activity is not None:
            store.inbox.mark_done(conn, activity)

    return mark


def finishing(
    job: Callable[Concatenate[sqlite3.Connection, P], T],
) -> Callable[Concatenate[sqlite3.Connection, P], T]:
    """`job` followed, in its transaction, by the done mark of the activity being handled."""
    mark = done_mark()

    def job_then_done(conn: sqlite3.Connection, /, *args: P.args, **kwargs: P.kwargs) -> T:
        result = job(conn, *args, **kwargs)
        mark(conn)
        return result

    return job_then_done
