"""Who signed this request: the signature rules (signatures.py) plus key lookup (actors.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aiohttp import web

from fedgroup.config import Config
from fedgroup.net.actors import KeyFetchThrottled, RemoteActors
from fedgroup.net.fetch import FetchError
from fedgroup.protocol import signatures

log = logging.getLogger(__name__)


class Verifying(Protocol):
    """What authenticate() needs of the server it runs in (fedgroup.runtime.Runtime is one)."""

    config: Config
    actors: RemoteActors | None

    def now(self) -> datetime: ...

    async def is_blocked(self, actor_id: str) -> bool: ...


class AuthError(Exception):
    """The request's signature cannot be accepted. 401: missing or bad; 403: a signer we refuse."""

    def __init__(
        self, status: int, reason: str, key_id: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.key_id = key_id
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None

    @property
    def unverifiable(self) -> bool:
        """The signature could not be checked or did not hold (as opposed to a signer we refuse)."""
        return self.status in (401, 429)

    def response(self) -> web.Response:
        return web.Response(status=self.status, text=f"{self.reason}\n", headers=self.headers)


@dataclass(frozen=True)
class VerifiedSigner:
    actor_id: str
    key_id: str
    scheme: str


def is_signed(request: web.Request) -> bool:
    headers = request.headers
    return (
        "Signature" in headers
        or "Signature-Input" in headers
        or headers.get("Authorization", "").startswith("Signature ")
    )


def request_url(runtime: Verifying, request: web.Request) -> str:
    """The URL the client addressed: our public base URL plus the raw path (we may sit behind a proxy)."""
    return runtime.config.base_url + request.raw_path


async def authenticate(
    runtime: Verifying, request: web.Request, body: bytes | None, fetch_key: bool = True
) -> VerifiedSigner:
    """Verify the request's signature and return the key's owner; raises AuthError.

    The signature must be fresh, cover the request's target and its Host (which must be our base URL's: a
    request signed for another server is not ours to accept). A failure with a key we have refetches the key
    (its owner may have rotated it), within the limits of actors.py. A key fetched for this request is stored
    only once the signature holds with it.
    """
    try:
        signed = signatures.parse_request(
            request.method, request_url(runtime, request), request.headers, body, runtime.now()
        )
    except signatures.SignatureError as e:
        raise AuthError(401, e.reason) from e
    # A blocked account or domain is refused before its key is looked up: we never fetch from it.
    if await runtime.is_blocked(signed.key_id.split("#", 1)[0]):
        raise AuthError(403, "blocked", signed.key_id)
    actors = runtime.actors
    assert actors is not None
    try:
        key = await actors.key(signed.key_id, fetch=fetch_key)
    except KeyFetchThrottled as e:
        raise AuthError(429, e.reason, signed.key_id, e.retry_after) from e
    except FetchError as e:
        raise AuthError(401, f"key-unavailable ({e.reason})", signed.key_id) from e
    except ValueError as e:
        raise AuthError(401, "key-unusable", signed.key_id) from e
    if key is None:
        raise AuthError(401, "key-unknown", signed.key_id)
    try:
        signatures.verify(signed, key.public_key)
    except signatures.SignatureError as first:
        if first.reason != "bad-signature" or not fetch_key:
            raise AuthError(401, first.reason, signed.key_id) from first
        try:
            fresh = await actors.key(signed.key_id, refresh=True)
        except (FetchError, ValueError) as e:
            raise AuthError(401, "bad-signature", signed.key_id) from e
        if fresh is None:
            raise AuthError(401, "bad-signature", signed.key_id) from first
        try:
            signatures.verify(signed, fresh.public_key)
        except signatures.SignatureError as second:
            raise AuthError(401, second.reason, signed.key_id) from second
        key = fresh
    await actors.confirm(key)
    return VerifiedSigner(actor_id=key.owner, key_id=signed.key_id, scheme=signed.scheme)
