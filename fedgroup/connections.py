"""Client connections: how long a request may take to arrive, and how many connections may be open.

aiohttp bounds the size of a request head but not the time it takes: a client that sends half a request line
and stalls holds its connection until the keep-alive timeout (an hour by default), and a few hundred such
clients hold the server (slowloris). Three guards, each configurable (config.toml):

- **Request heads** (`header_timeout_seconds`): a request's line and headers must be complete within this
  many seconds of its first byte (of the connection's opening, for the first request); otherwise the server
  answers 408 and closes the connection (a connection that sent nothing is closed silently). Counting from the
  first byte, not from the last, is the point: a head dribbled a byte at a time is cut off all the same.
- **Bodies** (`body_timeout_seconds`, `body_min_bytes_per_second`): a body must arrive within the timeout
  plus one second per `body_min_bytes_per_second` bytes received so far (Apache's mod_reqtimeout rule: a floor
  on the rate, with a start-up allowance); slower, the request gets 408 and the connection is closed.
- **Open connections** (`max_connections`): beyond it a new connection is answered 503 and closed at once.
  Idle keep-alive connections are closed after `idle_timeout_seconds` (longer than reverse proxies keep theirs
  open, so a proxy never reuses a connection the server has just closed).

The first and third live in GuardedRequestHandler, aiohttp's per-connection protocol with a timer added, and
GuardedSite, which listens with it; the second is a middleware (it needs the request's body stream).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from fedgroup.config import Config
from fedgroup.logs import AccessLog

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _raw_answer(status: str, text: str, headers: str = "") -> bytes:
    """An answer written straight to a connection that never reached the application."""
    body = text.encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
        f"X-Content-Type-Options: nosniff\r\n{headers}Connection: close\r\n\r\n"
    )
    return head.encode() + body


HEAD_TIMEOUT_ANSWER = _raw_answer("408 Request Timeout", "request headers too slow\n")
BUSY_ANSWER = _raw_answer("503 Service Unavailable", "too many open connections\n", "Retry-After: 10\r\n")

# How long a connection answered 408 stays half-closed, discarding what its client still sends, before it is
# closed whole (RFC 9112 section 9.6; nginx's lingering_time plays the same part).
LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    idle_timeout: float
    max_connections: int

    @classmethod
    def of(cls, config: Config) -> ConnectionLimits:
        return cls(config.header_timeout_seconds, config.idle_timeout_seconds, config.max_connections)


class OpenConnections:
    """How many connections a site holds open (shared by its handlers)."""

    def __init__(self) -> None:
        self.count = 0
        self.refused = 0


class GuardedRequestHandler(RequestHandler):
    """aiohttp's protocol for one connection, with a deadline on request heads and a cap on connections.

    It reads two of aiohttp's own fields, which its keep-alive logic uses the same way: `_waiter` is pending
    while the connection waits for a request head, and `_request_count` grows by one for each head parsed.
    tests/test_slow_clients.py fails if a future aiohttp changes their meaning."""

    def __init__(
        self,
        manager: web.Server,
        *,
        loop: asyncio.AbstractEventLoop,
        limits: ConnectionLimits,
        connections: OpenConnections,
        **options: Any,
    ) -> None:
        super().__init__(manager, loop=loop, keepalive_timeout=limits.idle_timeout, **options)
        self._limits = limits
        self._connections = connections
        self._refused = False
        self._head_deadline: asyncio.TimerHandle | None = None
        self._heads_before_deadline = 0
        self._head_started = False
        self._linger: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._connections.count >= self._limits.max_connections:
            self._refused = True
            self._connections.refused += 1
            if self._connections.refused == 1 or self._connections.refused % 1000 == 0:
                log.warning("connection refused reason=too-many-connections max=%d refused=%d",
                            self._limits.max_connections, self._connections.refused)  # fmt: skip
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(BUSY_ANSWER)
            transport.close()
            return
        self._connections.count += 1
        super().connection_made(transport)
        self._arm_head_deadline(started=False)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._refused:
            return
        self._connections.count -= 1
        self._disarm_head_deadline()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused or self._linger is not None:
            return  # a lingering connection's late bytes are read only to be dropped
        # Bytes arriving while the connection waits for a request are the start of its head.
        idle = bool(data) and self._head_deadline is None and self._waiting_for_head()
        heads = self._request_count
        super().data_received(data)
        if self._head_deadline is not None:
            if self._request_count != self._heads_before_deadline:
                self._disarm_head_deadline()  # the head is complete
            elif data:
                self._head_started = True
        elif idle and self._request_count == heads:
            self._arm_head_deadline(started=True)  # a head begun, not finished, in this chunk

    def _waiting_for_head(self) -> bool:
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def _arm_head_deadline(self, started: bool) -> None:
        self._heads_before_deadline = self._request_count
        self._head_started = started
        self._head_deadline = self._loop.call_later(self._limits.header_timeout, self._head_overdue)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_overdue(self) -> None:
        self._head_deadline = None
        if self.transport is None or self._request_count != self._heads_before_deadline:
            return
        if self._head_started:
            log.info("connection closed reason=header-timeout seconds=%g", self._limits.header_timeout)
            self._answer_and_linger(HEAD_TIMEOUT_ANSWER)
        else:
            log.debug("connection closed reason=no-request seconds=%g", self._limits.header_timeout)
            self.force_close()

    def _answer_and_linger(self, answer: bytes) -> None:
        """Close in stages (RFC 9112 section 9.6): closing a socket whose client is still sending makes the
        kernel answer its next bytes with a reset, which can destroy the answer before the client reads it.
        So: the answer, then our half of the connection (a FIN after the answer), then read and drop what
        still arrives until the client closes or LINGER_SECONDS pass."""
        assert isinstance(self.transport, asyncio.WriteTransport)
        self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._linger = self._loop.call_later(LINGER_SECONDS, self.force_close)


class GuardedSite(web.BaseSite):
    """Listens on a socket (or host and port) like aiohttp's SockSite and TCPSite, serving each connection with
    GuardedRequestHandler. `handler_options` go to aiohttp's RequestHandler (fedgroup's access log unless
    given)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        limits: ConnectionLimits,
        *,
        sock: socket.socket | None = None,
        host: str | None = None,
        port: int | None = None,
        backlog: int = 128,
        accept_at_once: int | None = None,
        **handler_options: Any,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        # asyncio accepts up to `backlog` waiting connections each time the socket is ready; on a socket that
        # several processes accept on (`serve --workers N`) fewer at once let the others take their part.
        self._accept_at_once = accept_at_once
        if (sock is None) == (port is None):
            raise ValueError("GuardedSite needs a socket, or a host and port")
        self._limits = limits
        self._sock, self._host, self._port = sock, host, port
        self._handler_options = {"access_log_class": AccessLog, **handler_options}
        self.connections = OpenConnections()

    @property
    def name(self) -> str:
        if self._sock is not None:
            host, port = self._sock.getsockname()[:2]
        else:
            host, port = self._host or "0.0.0.0", self._port
        return f"http://{host}:{port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None

        def protocol() -> GuardedRequestHandler:
            return GuardedRequestHandler(server, loop=loop, limits=self._limits, connections=self.connections,
                                         **self._handler_options)  # fmt: skip

        if self._sock is not None and self._accept_at_once is not None:
            self._server = await loop.create_server(protocol, sock=self._sock, backlog=self._accept_at_once)
            self._sock.listen(self._backlog)  # create_server set the kernel's queue to the batch: set it back
        elif self._sock is not None:
            self._server = await loop.create_server(protocol, sock=self._sock, backlog=self._backlog)
        else:
            self._server = await loop.create_server(
                protocol, self._host, self._port or 0, backlog=self._backlog
            )


# -- bodies ------------------------------------------------------------------------------------------------


class BodyTooSlow(TimeoutError):
    """Raised to whoever reads a body that arrives slower than the floor. A TimeoutError, so that aiohttp's
    own draining of an unread body after the answer stops quietly on it too."""


def body_deadline_middleware(timeout: float, min_bytes_per_second: float) -> Callable[..., Any]:
    """A body must arrive within `timeout` seconds plus one second per `min_bytes_per_second` bytes received;
    otherwise its stream fails with BodyTooSlow, and the request gets 408 and its connection is closed. The
    check wakes only at the deadline (moved on by what has arrived), never on a fixed tick."""

    @web.middleware
    async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        body = request.content
        if body.is_eof():
            return await handler(request)
        loop = asyncio.get_running_loop()
        started = loop.time()
        timer: asyncio.TimerHandle | None = None

        def check() -> None:
            nonlocal timer
            if body.is_eof():
                return
            allowed = started + timeout + body.total_bytes / min_bytes_per_second
            if loop.time() < allowed:
                timer = loop.call_at(allowed, check)
                return
            log.info("request refused reason=body-too-slow path=%s bytes=%d", request.path, body.total_bytes)
            body.set_exception(BodyTooSlow())

        timer = loop.call_at(started + timeout, check)
        try:
            return await handler(request)
        except BodyTooSlow:
            response = web.Response(status=408, text="request body too slow\n")
            response.force_close()
            return response
        finally:
            timer.cancel()

    return body_deadline
