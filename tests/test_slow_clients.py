"""Slow clients against a live server (slowloris): request heads and bodies under deadlines, connections capped,
while ordinary clients go on being served. Raw sockets on loopback play the slow clients; each test waits for
the server to close them (an event), never for a stretch of time."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.conftest import eventually

CLOSE_WAIT = 20  # seconds a test waits, at most, for the server to close a connection it should close


async def open_raw(server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def answer_then_close(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), CLOSE_WAIT)


async def served(server, path: str = "/healthz") -> int:
    async with aiohttp.ClientSession() as http, http.get(server.url(path)) as r:
        await r.read()
        return r.status


async def test_half_sent_requests_are_closed_after_the_header_timeout_while_others_are_served(make_server):
    server = await make_server(header_timeout_seconds=0.5)
    stalled = []
    for i in range(30):
        reader, writer = await open_raw(server)
        writer.write(
            b"GET /healthz HT" if i % 2 else b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"
        )
        await writer.drain()
        stalled.append((reader, writer))
    silent = [await open_raw(server) for _ in range(5)]
    assert await served(server) == 200, "an ordinary client is served beside the stalled ones"
    for reader, writer in stalled:
        answer = await answer_then_close(reader)
        assert answer.startswith(b"HTTP/1.1 408 ") and answer.endswith(b"request headers too slow\n")
        writer.close()
    for reader, writer in silent:
        assert await answer_then_close(reader) == b"", "a connection that sent nothing is just closed"
        writer.close()
    await eventually(lambda: _equals(server.site.connections.count, 0))
    assert await served(server) == 200


async def test_a_head_dribbled_a_byte_at_a_time_is_cut_off_all_the_same(make_server):
    """The deadline counts from a head's first byte: sending the next byte in time does not move it."""
    server = await make_server(header_timeout_seconds=0.5)
    reader, writer = await open_raw(server)
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 400 + b"\r\n\r\n"
    closed = asyncio.create_task(answer_then_close(reader))
    sent = 0
    while not closed.done() and sent < len(head):
        writer.write(head[sent : sent + 1])
        sent += 1
        await asyncio.sleep(0.02)  # a slow client's pace (the whole head would take 8 s)
    answer = await closed
    assert sent < len(head) and answer.startswith(b"HTTP/1.1 408 "), (sent, answer)
    writer.close()


async def test_a_client_still_sending_after_the_408_reads_it_and_is_not_reset(make_server):
    """RFC 9112 section 9.6: a server that closes at once while its client is still sending makes its kernel
    answer the client's next bytes with a reset, which can destroy the 408 before the client reads it (seen
    under load as ConnectionResetError in the test above). The server half-closes after the answer and
    discards what still arrives, so a client that goes on sending meets no reset and reads the whole answer."""
    server = await make_server(header_timeout_seconds=0.5)
    reader, writer = await open_raw(server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    answer = await asyncio.wait_for(reader.readuntil(b"request headers too slow\n"), CLOSE_WAIT)
    assert answer.startswith(b"HTTP/1.1 408 ")
    for _ in range(20):  # the rest of a slow head, still on its way; each write is answered at once on loopback
        writer.write(b"X-Padding: " + b"a" * 1000 + b"\r\n")
        await writer.drain()
        await asyncio.sleep(0.01)
    assert await answer_then_close(reader) == b"", "the connection ends with a close, not a reset"
    writer.close()
    await eventually(lambda: _equals(server.site.connections.count, 0))  # and the server lets it go


async def test_a_kept_alive_connection_is_not_mistaken_for_a_slow_head(make_server):
    server = await make_server(header_timeout_seconds=0.5)
    reader, writer = await open_raw(server)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    writer.write(request)
    assert (await reader.readuntil(b"ok\n")).startswith(b"HTTP/1.1 200 ")
    # A stalled connection opened now is closed once a header timeout has passed since; by then the first
    # connection's own deadline (from its opening) has long passed too.
    other_reader, other_writer = await open_raw(server)
    other_writer.write(b"GET /")
    assert (await answer_then_close(other_reader)).startswith(b"HTTP/1.1 408 ")
    writer.write(request)
    assert (await reader.readuntil(b"ok\n")).startswith(b"HTTP/1.1 200 "), "the idle connection still serves"
    writer.close()
    other_writer.close()


async def test_a_body_slower_than_the_floor_gets_408_and_a_steady_one_goes_through(make_server):
    server = await make_server(body_timeout_seconds=0.5, body_min_bytes_per_second=1000)
    for path, content_type in (("/login", "application/x-www-form-urlencoded"),
                               ("/inbox", "application/activity+json")):  # fmt: skip
        reader, writer = await open_raw(server)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
            + b"name=a"
        )
        answer = await answer_then_close(reader)
        assert answer.startswith(b"HTTP/1.1 408 ") and b"request body too slow" in answer, (path, answer)
        writer.close()

    # 3,000 bytes at about 2,500 a second: longer than the 0.5 s allowance, faster than the floor.
    body = b"name=someone&password=" + b"p" * 2966 + b"&csrf=x"
    reader, writer = await open_raw(server)
    writer.write(
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    for start in range(0, len(body), 500):
        writer.write(body[start : start + 500])
        await asyncio.sleep(0.2)
    status_line = await asyncio.wait_for(reader.readline(), CLOSE_WAIT)
    assert status_line.startswith(b"HTTP/1.1 403 "), "read whole: refused for its CSRF token, not its pace"
    writer.close()


async def test_connections_beyond_the_cap_are_turned_away_until_one_closes(make_server):
    server = await make_server(max_connections=5)
    held = [await open_raw(server) for _ in range(5)]
    await eventually(lambda: _equals(server.site.connections.count, 5))
    reader, writer = await open_raw(server)
    answer = await answer_then_close(reader)
    assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 10" in answer
    writer.close()
    held_reader, held_writer = held.pop()
    held_writer.close()
    await eventually(lambda: _equals(server.site.connections.count, 4))
    assert await served(server) == 200
    for _, w in held:
        w.close()


async def _equals(value: int, expected: int) -> bool:
    return value == expected
