"""Logging: one line per event, `key=value`, with a level; never member data, secrets or IP addresses.

Our own messages follow that rule where they are written. This module covers what libraries would add: the
access log is ours (no client address, no query string, secret path segments such as invitation tokens
replaced). The database is the standard library's sqlite3, which logs nothing.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import re
import time

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

LEVELS = ("debug", "info", "warning", "error")
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Path segments that are secrets: whoever reads the log could use them (an invitation, a password reset, a
# member's private feed link, a one-click unsubscribe link).
_SECRET_PREFIXES = ("/invite/", "/reset/", "/feeds/", "/unsubscribe/")
_SECRET_PATHS = re.compile(f"^({'|'.join(map(re.escape, _SECRET_PREFIXES))})[^/]+")


def redacted_path(path: str) -> str:
    if not path.startswith(_SECRET_PREFIXES):
        return path  # (every request's path passes here: the cheap question first)
    return _SECRET_PATHS.sub(r"\1[redacted]", path)


class AccessLog(AbstractAccessLogger):
    """`access method=GET path=/campaigns/1 status=200 bytes=5120 ms=3.1` — nothing about who asked. Written in
    batches (ACCESS_LINES), not as a logging record each."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            ACCESS_LINES.add(
                self.logger.name,
                f"access method={request.method} path={redacted_path(request.path)} status={response.status}"
                f" bytes={response.body_length} ms={time * 1000:.1f}",
            )


class AccessLines:
    """The access log's lines, written in batches as nginx's `access_log ... buffer= flush=` writes them: a
    batch goes to the log's streams FLUSH_SECONDS after its first line, when it holds FLUSH_LINES lines, and
    when the process exits. Through `logging`, a line each cost about 20 µs of a kept page's 100 (a record, a
    format, a write and a flush each, measured inside `serve`); here it costs a few. Each line reads as if
    `logging` had written it (the process's format, `[name]` included). What a SIGKILL takes with it is the
    last half second of access lines, never anything else: every other message is written at once."""

    FLUSH_SECONDS = 0.5
    FLUSH_LINES = 256

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._second = -1
        self._stamp = ""
        self._msec_format = logging.Formatter.default_msec_format or "%s,%03d"
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None  # (a test's loop may close before it fires)
        atexit.register(self.flush)

    def add(self, name: str, message: str) -> None:
        now = time.time()
        second = int(now)
        if second != self._second:  # the date and time part of the stamp changes once a second
            self._second = second
            self._stamp = time.strftime(logging.Formatter.default_time_format, time.localtime(second))
        asctime = self._msec_format % (self._stamp, int(now * 1000) % 1000)
        values = {"asctime": asctime, "levelname": "INFO", "name": name, "message": message}
        self._lines.append(_format % values + "\n")
        if len(self._lines) >= self.FLUSH_LINES:
            self.flush()
        else:
            loop = asyncio.get_running_loop()
            if self._timer is None or self._timer_loop is not loop:
                self._timer, self._timer_loop = loop.call_later(self.FLUSH_SECONDS, self.flush), loop

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        batch, self._lines = "".join(self._lines), []
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is not None:
                try:
                    with handler.lock or contextlib.nullcontext():
                        handler.stream.write(batch)
                    handler.flush()
                except (OSError, ValueError):  # the log's pipe is gone (as at exit): nothing left to tell
                    pass


ACCESS_LINES = AccessLines()
# The format of this process's lines: FORMAT, with the process's name in it once named (name_process).
_format = FORMAT


def configure(level: str = "info") -> None:
    """Root logging for a process: `level` for our messages and aiohttp's."""
    logging.basicConfig(level=getattr(logging, level.upper()), format=FORMAT)


def name_process(name: str) -> None:
    """Put `name` in this process's every line (the other serving processes of `serve --workers N` write to
    the same log as the first)."""
    global _format
    ACCESS_LINES.flush()  # lines written before the name was given are written without it
    _format = FORMAT.replace("%(name)s", f"[{name}] %(name)s")
    formatter = logging.Formatter(_format)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
