"""Logging: one line per event, `key=value`, with a level; never member data, secrets or IP addresses.

Our own messages follow that rule where they are written. This module covers what libraries would add: the
access log is ours (no client address, no query string, secret path segments such as invitation tokens
replaced). The database is the standard library's sqlite3, which logs nothing.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

LEVELS = ("debug", "info", "warning", "error")
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Path segments that are secrets: whoever reads the log could use them (an invitation, a password reset, a
# member's private feed link, a one-click unsubscribe link).
_SECRET_PATHS = re.compile(r"^(/invite/|/reset/|/feeds/|/unsubscribe/)[^/]+")


def redacted_path(path: str) -> str:
    return _SECRET_PATHS.sub(r"\1[redacted]", path)


class AccessLog(AbstractAccessLogger):
    """`access method=GET path=/campaigns/1 status=200 bytes=5120 ms=3.1` — nothing about who asked."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "access method=%s path=%s status=%d bytes=%d ms=%.1f",
            request.method,
            redacted_path(request.path),
            response.status,
            response.body_length,
            time * 1000,
        )


def configure(level: str = "info") -> None:
    """Root logging for a process: `level` for our messages and aiohttp's."""
    logging.basicConfig(level=getattr(logging, level.upper()), format=FORMAT)


def name_process(name: str) -> None:
    """Put `name` in this process's every line (the other serving processes of `serve --workers N` write to
    the same log as the first)."""
    formatter = logging.Formatter(FORMAT.replace("%(name)s", f"[{name}] %(name)s"))
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
