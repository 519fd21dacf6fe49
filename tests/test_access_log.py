"""The access log (logs.AccessLog, logs.AccessLines): one line per request as `logging` would write it, in
batches, so that a line costs the server a few microseconds, not twenty; never later than FLUSH_SECONDS;
nothing when the log's level is above info."""

from __future__ import annotations

import asyncio
import io
import logging
import re

import pytest

from fedgroup import logs
from tests.web_client import WebClient

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO aiohttp\.access access method=(GET|POST) path=(\S+)"
    r" status=(\d{3}) bytes=\d+ ms=\d+\.\d$"
)


@pytest.fixture
def log_stream():  # type: ignore[no-untyped-def]
    """A stream handler on the root logger, formatted as `fedgroup serve` formats its log."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    access = logging.getLogger("aiohttp.access")
    level = access.level
    access.setLevel(logging.INFO)
    logs.ACCESS_LINES.flush()  # what other tests left behind is written before this one's stream is watched
    stream.truncate(0)
    yield stream, access
    access.setLevel(level)
    root.removeHandler(handler)


def access_lines(stream: io.StringIO) -> list[re.Match[str]]:
    return [m for line in stream.getvalue().splitlines() if (m := LINE.match(line))]


async def test_each_request_is_a_line_as_logging_writes_it_in_order_within_the_flush_time(
    make_server, log_stream
):
    stream, _ = log_stream
    server = await make_server()
    client = WebClient(server.base_url)
    try:
        paths = ["/groups/water", "/healthz", "/groups/water?done=saved", "/nowhere", "/invite/secret-token"]
        for path in paths:
            await client.get(path)
        assert access_lines(stream) == [], "written in a batch, not a line each"
        await asyncio.sleep(logs.AccessLines.FLUSH_SECONDS + 0.3)
        found = access_lines(stream)
        assert [(m[1], m[2], m[3]) for m in found] == [
            ("GET", "/groups/water", "200"),
            ("GET", "/healthz", "200"),
            ("GET", "/groups/water", "200"),  # no query string
            ("GET", "/nowhere", "404"),
            ("GET", "/invite/[redacted]", "410"),
        ]
        # The same form as every other line of the log: what logging's own formatter makes of a record.
        logging.getLogger("aiohttp.access").info("access method=GET path=/x status=200 bytes=1 ms=0.1")
        assert LINE.match(stream.getvalue().splitlines()[-1])
    finally:
        await client.close()


async def test_a_full_batch_is_written_at_once_and_nothing_above_info(log_stream):
    stream, access = log_stream
    for n in range(logs.AccessLines.FLUSH_LINES):
        logs.ACCESS_LINES.add("aiohttp.access", f"access method=GET path=/{n} status=200 bytes=1 ms=0.1")
    assert len(access_lines(stream)) == logs.AccessLines.FLUSH_LINES, "no wait once the batch is full"

    access.setLevel(logging.WARNING)
    server_log = logs.AccessLog(access, "")

    class Answered:  # what AccessLog reads of a request and its answer
        method, path, status, body_length = "GET", "/quiet", 200, 1

    server_log.log(Answered(), Answered(), 0.001)  # type: ignore[arg-type]
    logs.ACCESS_LINES.flush()
    assert "/quiet" not in stream.getvalue()
