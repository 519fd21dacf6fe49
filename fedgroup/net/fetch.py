"""Talking to remote servers: signed GETs and POSTs through a private-network guard, with size limits.

The guard sits in the resolver, so the address that was checked is the address aiohttp connects to (no DNS
rebinding window); IP literals, which aiohttp never resolves, are checked before the request.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult

from fedgroup.protocol import signatures

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5, sock_read=10)
USER_AGENT = "fedgroup/0.1 (+https://w3id.org/fedgroup)"
ACCEPT_ACTIVITY = (
    'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
)
ACTIVITY_CONTENT_TYPE = "application/activity+json"
_JSON_TYPES = ("application/activity+json", "application/ld+json", "application/json")


class FetchError(Exception):
    """A remote document we could not get or use; .reason is a grep-able slug."""

    def __init__(self, reason: str, detail: str = "", status: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.status = status


# -- the private-network guard --------------------------------------------------------------------


# Networks `allow_private_networks = "always"` (a LAN deployment) may reach besides loopback: RFC 1918, shared
# address space (carrier-grade NAT) and IPv6 unique-local. Never link-local (cloud metadata lives there),
# multicast, broadcast, reserved, documentation or benchmarking space.
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# ::/8 holds the unspecified, loopback, IPv4-compatible (::a.b.c.d) and local NAT64 (64:ff9b:1::/48) ranges:
# whatever is not handled above is refused, whatever the platform's ipaddress thinks of it.
_IPV6_RESERVED = ipaddress.ip_network("::/8")


def _site_local(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local  # fec0::/10, deprecated but routable


def address_allowed(address: str, allow_loopback: bool, allow_private: bool) -> bool:
    """Whether we may connect to this IP: public unicast only, loopback in development."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1, 6to4 (2002::/16) and NAT64 (64:ff9b::/96) reach IPv4 space: judge the IPv4 address.
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is None and ip in _NAT64:
            mapped = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if mapped is not None:
            return address_allowed(str(mapped), allow_loopback, allow_private)
        if ip.teredo is not None:
            return False  # Teredo tunnels to an IPv4 address we cannot judge
    if ip.is_loopback:
        return allow_loopback or allow_private
    if isinstance(ip, ipaddress.IPv6Address) and ip in _IPV6_RESERVED:
        return False
    if ip.is_multicast or ip.is_unspecified or ip.is_link_local or ip.is_reserved or _site_local(ip):
        return False
    if allow_private and any(ip in net for net in _PRIVATE_NETWORKS):
        return True
    return ip.is_global


class GuardedResolver(AbstractResolver):
    """Resolves with `inner`, then drops every address the guard refuses."""

    def __init__(self, inner: AbstractResolver, allow_loopback: bool, allow_private: bool) -> None:
        self._inner = inner
        self._allow_loopback = allow_loopback
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [
            r for r in results if address_allowed(r["host"], self._allow_loopback, self._allow_private)
        ]
        if not allowed:
            log.info("fetch refused reason=private-address host=%s", host)
            raise OSError(f"{host} resolves only to addresses we do not connect to")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


@dataclass(frozen=True)
class UrlPolicy:
    allow_loopback: bool
    allow_private: bool

    def check(self, url: str) -> None:
        """Refuse URLs we never fetch: non-http(s), credentials, and IP literals the guard would refuse."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as e:
            raise FetchError("bad-url", url) from e
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise FetchError("bad-url", url)
        host = parts.hostname
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host.replace(".", "").isdigit():
                # 2130706433, 127.1, 0177.0.0.1: the OS maps these onto addresses, and an HTTP client that
                # takes them for IP literals never asks the resolver (the guard) about them.
                raise FetchError("bad-url", url) from None
            return  # a name: the resolver checks what it resolves to
        if not address_allowed(host, self.allow_loopback, self.allow_private):
            raise FetchError("private-address", host)


def make_session(
    policy: UrlPolicy, resolver: AbstractResolver | None = None, limit_per_host: int = 8
) -> aiohttp.ClientSession:
    inner = resolver if resolver is not None else aiohttp.ThreadedResolver()
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(inner, policy.allow_loopback, policy.allow_private),
        limit=100,
        limit_per_host=limit_per_host,
        ttl_dns_cache=60,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=FETCH_TIMEOUT,
        headers={"User-Agent": USER_AGENT},
        auto_decompress=True,
        trust_env=False,
    )


# -- requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    key_id: str
    private_key: Any


@dataclass(frozen=True)
class Fetched:
    """A fetched document and the URL it came from after redirects (its origin is what it speaks for)."""

    url: str
    document: dict[str, Any]


@dataclass(frozen=True)
class PostResult:
    status: int
    retry_after: float | None = None


async def _read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > limit:
        raise FetchError("too-large", f"{declared} bytes")
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise FetchError("too-large", f"more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class HttpClient:
    """Signed GETs of ActivityStreams documents and signed POSTs to inboxes."""

    def __init__(
        self, session: aiohttp.ClientSession, policy: UrlPolicy, clock: Callable[[], datetime]
    ) -> None:
        self.session = session
        self.policy = policy
        self.clock = clock

    async def close(self) -> None:
        await self.session.close()

    async def get_json(
        self,
        url: str,
        signer: Signer | None,
        accept: str = ACCEPT_ACTIVITY,
        content_types: tuple[str, ...] = _JSON_TYPES,
    ) -> dict[str, Any]:
        """The JSON document at `url` (see fetch_document), for callers that trust nothing in it by origin."""
        return (await self.fetch_document(url, signer, accept, content_types)).document

    async def fetch_document(
        self,
        url: str,
        signer: Signer | None,
        accept: str = ACCEPT_ACTIVITY,
        content_types: tuple[str, ...] = _JSON_TYPES,
    ) -> Fetched:
        """GET an ActivityStreams (or other JSON) document; follows a few redirects, each checked again.

        The answer carries the URL the document finally came from: a document speaks for that URL's origin
        only, so a caller that stores or trusts it compares its `id` with `Fetched.url`, not with `url`.
        """
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            self.policy.check(current)
            headers = {"Accept": accept}
            if signer is not None:
                headers.update(
                    signatures.sign_request(
                        "GET", current, None, signer.key_id, signer.private_key, self.clock(), headers=headers
                    )
                )
            try:
                async with self.session.get(current, headers=headers, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location")
                        if not location:
                            raise FetchError("bad-redirect", current, response.status)
                        current = urljoin(current, location)
                        continue
                    if response.status == 410:
                        raise FetchError("gone", current, 410)
                    if response.status != 200:
                        raise FetchError("http-status", f"{response.status} from {current}", response.status)
                    content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
                    if content_type not in content_types:
                        raise FetchError("content-type", f"{content_type or 'none'} from {current}")
                    body = await _read_limited(response, MAX_DOCUMENT_BYTES)
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as e:
                raise FetchError("unreachable", f"{current}: {type(e).__name__}") from e
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError as e:
                raise FetchError("not-json", current) from e
            if not isinstance(doc, dict):
                raise FetchError("not-an-object", current)
            return Fetched(current, doc)
        raise FetchError("too-many-redirects", url)

    async def post_activity(
        self, inbox: str, body: bytes, signer: Signer, rfc9421: bool = False, digest: str | None = None
    ) -> PostResult:
        """POST one activity, signed (draft-cavage by default, RFC 9421 when asked).

        `digest`, the body's draft-cavage Digest when the caller computed it once for many inboxes.
        """
        self.policy.check(inbox)
        headers = {"Content-Type": ACTIVITY_CONTENT_TYPE, "Accept": ACCEPT_ACTIVITY}
        if rfc9421:
            signed = signatures.sign_request_rfc9421(
                "POST", inbox, body, signer.key_id, signer.private_key, self.clock(), headers=headers
            )
        else:
            signed = signatures.sign_request(
                "POST", inbox, body, signer.key_id, signer.private_key, self.clock(), headers=headers,
                digest=digest,
            )  # fmt: skip
        headers.update(signed)
        try:
            async with self.session.post(
                inbox, data=body, headers=headers, allow_redirects=False
            ) as response:
                await _read_limited(response, 64 * 1024)  # drain a little so the connection is reusable
                return PostResult(response.status, _retry_after(response.headers.get("Retry-After")))
        except FetchError:
            return PostResult(response.status)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as e:
            raise FetchError("unreachable", f"{inbox}: {type(e).__name__}") from e


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
