"""The private-network guard, with a stub resolver: names that resolve to addresses we must not reach are
refused before any connection, IP literals likewise, redirects are checked again, and the connection goes to
the address that was checked (no DNS rebinding).

Addresses such as 10.0.0.1 or 169.254.169.254 only ever appear as answers of the stub resolver that the
guard refuses; the only sockets opened are on loopback.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from fedgroup.net.fetch import (
    FetchError,
    GuardedResolver,
    HttpClient,
    Signer,
    UrlPolicy,
    address_allowed,
    make_session,
)
from fedgroup.protocol.signatures import load_private_key
from tests.peer import FakeActor

PRODUCTION = UrlPolicy(allow_loopback=False, allow_private=False)
DEVELOPMENT = UrlPolicy(allow_loopback=True, allow_private=False)

REFUSED_IN_PRODUCTION = [
    "127.0.0.1",
    "127.0.0.2",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "0.0.0.0",
    "0.1.2.3",
    "100.64.0.1",  # carrier-grade NAT
    "240.0.0.1",  # reserved
    "198.18.0.1",  # benchmarking
    "192.0.0.1",  # IETF protocol assignments
    "192.0.2.1",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",  # site-local
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::1",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:db8::1",  # documentation
    "100::1",  # discard-only
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]


class StubResolver(AbstractResolver):
    """Answers from a table; a name's answers may change from one call to the next (`answers` is a list of
    lists, the last one repeating). Records every call."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append(host)
        answers = self.table.get(host)
        if answers is None:
            raise OSError(f"stub: no such name {host}")
        current = answers[min(self.calls.count(host), len(answers)) - 1]
        return [
            {
                "hostname": host,
                "host": a,
                "port": port,
                "family": socket.AF_INET6 if ":" in a else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for a in current
        ]

    async def close(self) -> None:
        pass


class Listener:
    """A loopback HTTP server that records every request (and so every connection that got through)."""

    def __init__(self, host: str = "127.0.0.1", sock: socket.socket | None = None) -> None:
        self.host = host
        self.sock = sock
        self.seen: list[str] = []
        self.redirects: dict[str, str] = {}
        self.runner: web.AppRunner | None = None

    async def start(self) -> Listener:
        if self.sock is None:
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((self.host, 0))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.SockSite(self.runner, self.sock).start()
        return self

    @property
    def port(self) -> int:
        assert self.sock is not None
        return self.sock.getsockname()[1]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(f"{request.method} {request.path}")
        location = self.redirects.get(request.path)
        if location:
            raise web.HTTPFound(location)
        return web.json_response({"id": f"{self.host}{request.path}", "served_by": self.host},
                                 content_type="application/activity+json")  # fmt: skip

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def listener():
    server = await Listener().start()
    yield server
    await server.stop()


def client(policy: UrlPolicy, resolver: AbstractResolver | None) -> HttpClient:
    return HttpClient(make_session(policy, resolver), policy, lambda: datetime.now(UTC))


@pytest.fixture(scope="module")
def signer(test_keys) -> Signer:
    return Signer(
        "http://127.0.0.1:1/actor#main-key", load_private_key(test_keys["peer-1"]["private_key_pem"])
    )


@pytest.mark.parametrize("address", REFUSED_IN_PRODUCTION)
def test_the_guard_refuses_every_non_public_address_in_production(address):
    assert not address_allowed(address, allow_loopback=False, allow_private=False)


@pytest.mark.parametrize("address", PUBLIC)
def test_the_guard_allows_public_addresses(address):
    assert address_allowed(address, allow_loopback=False, allow_private=False)


def test_development_allows_loopback_and_always_allows_the_lan_but_never_metadata_or_multicast():
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert address_allowed(address, allow_loopback=True, allow_private=False)
    for address in ("10.0.0.1", "192.168.1.1", "100.64.0.1", "fd00::1"):
        assert not address_allowed(address, allow_loopback=True, allow_private=False)
        assert address_allowed(address, allow_loopback=True, allow_private=True)
    for address in ("169.254.169.254", "fe80::1", "224.0.0.1", "0.0.0.0", "240.0.0.1", "198.18.0.1"):
        assert not address_allowed(address, allow_loopback=True, allow_private=True)


async def test_names_resolving_to_refused_addresses_are_never_connected_to(listener, signer):
    """Every refused address behind a name, GET and POST: the stub is asked, nothing is connected to."""
    table = {f"h{i}.example": [[a]] for i, a in enumerate(REFUSED_IN_PRODUCTION)}
    # The loopback listener stands in as one of them: if the guard let 127.0.0.1 through, it would see it.
    table["loop.example"] = [["127.0.0.1"]]
    resolver = StubResolver(table)
    http = client(PRODUCTION, resolver)
    try:
        for name in table:
            port = listener.port if name == "loop.example" else 80
            with pytest.raises(FetchError) as e:
                await http.get_json(f"http://{name}:{port}/users/x", None)
            assert e.value.reason == "unreachable"
            with pytest.raises(FetchError):
                await http.post_activity(f"http://{name}:{port}/inbox", b"{}", signer)
    finally:
        await http.close()
    assert set(resolver.calls) == set(table)
    assert listener.seen == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/x",
        "http://[::1]:{port}/x",
        "http://[::ffff:127.0.0.1]:{port}/x",
        "http://[::ffff:7f00:1]:{port}/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/x",
        "http://[fe80::1%25eth0]/x",
        "http://0.0.0.0:{port}/x",
        "http://2130706433:{port}/x",  # 127.0.0.1 as one number
        "http://127.1:{port}/x",
        "http://0177.0.0.1:{port}/x",
        "http://127.000.000.001:{port}/x",
        "http://user:pw@example.org/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:application/json,%7B%7D",
        "gopher://127.0.0.1:{port}/x",
    ],
)
async def test_ip_literals_and_odd_urls_are_refused_before_any_request(listener, signer, url):
    url = url.replace("{port}", str(listener.port))
    resolver = StubResolver({})
    http = client(PRODUCTION, resolver)
    try:
        with pytest.raises(FetchError) as e:
            await http.get_json(url, signer)
        assert e.value.reason in ("private-address", "bad-url")
        with pytest.raises(FetchError):
            await http.post_activity(url, b"{}", signer)
    finally:
        await http.close()
    assert resolver.calls == []
    assert listener.seen == []


async def test_names_the_system_resolver_maps_onto_loopback_are_refused(listener):
    """With the real resolver: localhost and hex spellings resolve to loopback, and are refused."""
    http = client(PRODUCTION, None)
    try:
        for host in ("localhost", "0x7f.0.0.1", "0x7f000001"):
            with pytest.raises(FetchError):
                await http.get_json(f"http://{host}:{listener.port}/x", None)
    finally:
        await http.close()
    assert listener.seen == []


async def test_a_name_with_allowed_and_refused_addresses_connects_only_to_the_allowed_one(listener):
    # Production: the guard keeps only the public address (checked on the resolver; nothing is connected).
    guard = GuardedResolver(
        StubResolver({"mixed.example": [["10.0.0.1", "93.184.216.34", "::1"]]}), False, False
    )
    assert [r["host"] for r in await guard.resolve("mixed.example", 443)] == ["93.184.216.34"]

    # Development (loopback allowed): the refused addresses come first, the listener last.
    answers = ["10.0.0.1", "169.254.169.254", "fe80::1", "127.0.0.1"]
    guard = GuardedResolver(StubResolver({"mixed.example": [answers]}), True, False)
    assert [r["host"] for r in await guard.resolve("mixed.example", listener.port)] == ["127.0.0.1"]
    resolver = StubResolver({"mixed.example": [answers]})
    http = client(DEVELOPMENT, resolver)
    try:
        doc = await http.get_json(f"http://mixed.example:{listener.port}/actor", None)
    finally:
        await http.close()
    assert doc["served_by"] == "127.0.0.1"
    assert listener.seen == ["GET /actor"]


async def test_no_dns_rebinding_the_connection_goes_to_the_address_that_was_checked():
    """The resolver answers 127.0.0.1 first and then 127.0.0.2 (standing in for an address the guard would
    refuse; only loopback is ever touched). A client that checked one resolution and connected after another
    would reach the 127.0.0.2 listener. Ours resolves once per connection, in the guard, and connects there."""
    good_sock = socket.socket()
    good_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    good_sock.bind(("127.0.0.1", 0))
    port = good_sock.getsockname()[1]
    bad_sock = socket.socket()
    bad_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    bad_sock.bind(("127.0.0.2", port))
    good = await Listener("127.0.0.1", good_sock).start()
    bad = await Listener("127.0.0.2", bad_sock).start()
    resolver = StubResolver({"rebind.example": [["127.0.0.1"], ["127.0.0.2"]]})
    http = client(DEVELOPMENT, resolver)
    try:
        for n in range(3):
            doc = await http.get_json(f"http://rebind.example:{port}/doc/{n}", None)
            assert doc["served_by"] == "127.0.0.1"
    finally:
        await http.close()
        await good.stop()
        await bad.stop()
    assert resolver.calls == ["rebind.example"]
    assert good.seen == ["GET /doc/0", "GET /doc/1", "GET /doc/2"]
    assert bad.seen == []


async def test_redirects_to_private_addresses_are_refused(listener):
    listener.redirects = {
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-name": "http://metadata.example/latest/meta-data/",
        "/to-mapped": "http://[::ffff:10.0.0.1]/",
        "/to-file": "file:///etc/passwd",
        "/to-ok": "/landed",
    }
    resolver = StubResolver({"metadata.example": [["169.254.169.254"]]})
    http = client(DEVELOPMENT, resolver)
    try:
        for path, reason in (
            ("/to-metadata", "private-address"),
            ("/to-name", "unreachable"),
            ("/to-mapped", "private-address"),
            ("/to-file", "bad-url"),
        ):
            with pytest.raises(FetchError) as e:
                await http.get_json(f"http://127.0.0.1:{listener.port}{path}", None)
            assert e.value.reason == reason, path
        landed = await http.get_json(f"http://127.0.0.1:{listener.port}/to-ok", None)
    finally:
        await http.close()
    assert landed["id"] == "127.0.0.1/landed", "a redirect to an allowed place still works"
    assert resolver.calls == ["metadata.example"]
    assert "GET /latest/meta-data/" not in listener.seen


async def test_a_production_server_never_fetches_a_loopback_key(make_server, peer, listener):
    """End to end: a server with allow_private_networks = "never" refuses a signed POST whose key would have
    to be fetched from loopback (literal) or from a name resolving there (stub), without fetching."""
    resolver = StubResolver({"peer.example": [["127.0.0.1"]]})
    server = await make_server(allow_private_networks="never", app_options={"resolver": resolver})
    alice = peer.add_actor("alice", "peer-1")
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.id}#follow/1",
        "type": "Follow",
        "actor": alice.id,
        "object": server.url("/groups/water"),
    }
    status, text = await peer.post(alice, server.url("/groups/water/inbox"), activity)
    assert (status, text.strip()) == (401, "key-unavailable (private-address)")

    named = f"http://peer.example:{listener.port}/users/alice"
    impostor = FakeActor("alice", named, f"{named}#main-key", alice.private_pem, alice.public_pem, {})
    doc = dict(activity, id=f"{named}#follow/2", actor=named)
    status, text = await peer.post(impostor, server.url("/groups/water/inbox"), doc)
    assert (status, text.strip()) == (401, "key-unavailable (unreachable)")
    assert resolver.calls == ["peer.example"]
    assert listener.seen == []
    assert await server.runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities") == 0
