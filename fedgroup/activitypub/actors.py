"""Remote actors and their keys: parsed key objects in memory, actors in SQLite, fetched when missing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urldefrag

import orjson

from fedgroup import store
from fedgroup.activitypub import signatures
from fedgroup.activitypub.fetch import FetchError, HttpClient, Signer
from fedgroup.activitypub.parse import ParseError, RemoteActor, parse_actor
from fedgroup.store.actors import CachedActor

log = logging.getLogger(__name__)

MAX_KEYS_IN_MEMORY = 10_000
# A forged signature must not turn into a fetch storm: refetch one key at most this often.
KEY_REFRESH_INTERVAL = 60.0
ACTOR_MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class ActorKey:
    owner: str
    key_id: str
    public_key: Any  # a loaded cryptography key object, never PEM text


class RemoteActors:
    def __init__(
        self,
        db: store.Database,
        http: HttpClient | None,
        signer: Callable[[], Signer],
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.http = http
        self.signer = signer
        self.clock = clock
        self._keys: OrderedDict[str, ActorKey] = OrderedDict()
        self._refreshed_at: dict[str, float] = {}
        self._in_flight: dict[str, asyncio.Future[Any]] = {}

    # -- keys ------------------------------------------------------------------------------------

    async def key(self, key_id: str, refresh: bool = False, fetch: bool = True) -> ActorKey | None:
        """The key for a keyId (memory, then SQLite, then the network). `refresh` skips the caches once."""
        if refresh:
            last = self._refreshed_at.get(key_id, 0.0)
            if time.monotonic() - last < KEY_REFRESH_INTERVAL:
                return None
            self._refreshed_at[key_id] = time.monotonic()
            self._keys.pop(key_id, None)
        else:
            cached = self._keys.get(key_id)
            if cached is not None:
                self._keys.move_to_end(key_id)
                return cached
            actor = await store.actors.by_key_id(self.db.reader, key_id)
            if actor is not None:
                return self._remember(actor.id, key_id, actor.public_key_pem)
        if not fetch:
            return None
        actor = await self._single_flight(f"key:{key_id}", lambda: self._fetch_key_owner(key_id))
        return self._remember(actor.id, key_id, actor.public_key_pem)

    def _remember(self, owner: str, key_id: str, pem: str) -> ActorKey:
        entry = ActorKey(owner, key_id, signatures.load_public_key(pem))
        self._keys[key_id] = entry
        if len(self._keys) > MAX_KEYS_IN_MEMORY:
            self._keys.popitem(last=False)
        return entry

    async def _fetch_key_owner(self, key_id: str) -> CachedActor:
        """Fetch the document at a keyId: either the actor itself (fragment keys) or a Key naming its owner."""
        doc = await self._get(urldefrag(key_id).url)
        if "inbox" not in doc and isinstance(doc.get("owner"), str):
            doc = await self._get(doc["owner"])  # a bare Key document (GoToSocial /main-key style)
        actor = await self._store(doc)
        if actor.key_id != key_id:
            raise FetchError("key-not-owned", f"{key_id} is not the key of {actor.id}")
        return actor

    # -- actors ----------------------------------------------------------------------------------

    async def actor(self, actor_id: str, max_age: timedelta = ACTOR_MAX_AGE) -> CachedActor:
        """The actor from the cache, fetched when missing or stale (a stale copy beats none)."""
        cached = await store.actors.by_id(self.db.reader, actor_id)
        if cached is not None and self.clock() - cached.fetched_at < max_age:
            return cached
        try:
            return await self._single_flight(f"actor:{actor_id}", lambda: self.refresh(actor_id))
        except FetchError:
            if cached is not None:
                return cached
            raise

    async def cached(self, actor_id: str) -> CachedActor | None:
        return await store.actors.by_id(self.db.reader, actor_id)

    async def refresh(self, actor_id: str) -> CachedActor:
        doc = await self._get(actor_id)
        actor = await self._store(doc)
        if actor.id != actor_id:
            raise FetchError("id-mismatch", f"asked for {actor_id}, got {actor.id}")
        return actor

    async def accept_document(self, doc: dict[str, Any]) -> CachedActor:
        """Store an actor document that reached us authenticated (an Update of a profile)."""
        return await self._store(doc)

    async def _get(self, url: str) -> dict[str, Any]:
        if self.http is None:
            raise FetchError("offline", url)
        return await self.http.get_json(url, self.signer())

    async def _store(self, doc: dict[str, Any]) -> CachedActor:
        try:
            parsed: RemoteActor = parse_actor(doc)
            signatures.load_public_key(parsed.public_key_pem)
        except (ParseError, ValueError) as e:
            raise FetchError("bad-actor", str(e)) from e
        actor = CachedActor(
            id=parsed.id,
            type=parsed.type,
            preferred_username=parsed.preferred_username,
            name=parsed.name,
            inbox=parsed.inbox,
            shared_inbox=parsed.shared_inbox,
            followers=parsed.followers,
            url=parsed.url,
            key_id=parsed.key_id,
            public_key_pem=parsed.public_key_pem,
            document=orjson.dumps(doc).decode(),
            fetched_at=self.clock(),
        )

        async def save(conn: Any) -> None:
            await store.actors.save(conn, actor)

        await self.db.write(save)
        self._keys.pop(actor.key_id, None)
        return actor

    async def _single_flight(self, key: str, fetch: Callable[[], Awaitable[CachedActor]]) -> CachedActor:
        """Concurrent requests for the same unknown actor share one fetch."""
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CachedActor] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            result = await fetch()
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # mark retrieved: waiters (if any) get it, nobody else must
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._in_flight[key]
