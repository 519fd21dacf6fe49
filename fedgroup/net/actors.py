"""Remote actors and their keys: parsed key objects in memory, actors in SQLite, fetched when missing.

Trust rules (an object's authority is its origin):

- A fetched document speaks only for the URL it finally came from: it is stored (or trusted) only if its `id`
  is exactly that URL, and only once every ownership check has passed.
- A key is trusted for the actor that lists it in its own document, fetched from the actor's URL, on the
  keyId's origin. Whatever the document at a keyId says (a stub of the actor, a bare key) only names the
  owner to fetch; it is never stored.
- A key fetched because of an incoming request is stored once that request's signature holds with it
  (`confirm`); until then it lives only in memory, for a minute, so forgeries do not refetch it.
- Keys are fetched without a signature (they are public); only a server that refuses that with 401/403
  gets a GET signed by our instance actor. First fetches of keys are budgeted per keyId host and overall.
- Keys have an age: a copy older than a day is fetched again before use; a signature failure refetches the
  key (its owner may have rotated it), at most once a minute per keyId.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urldefrag, urlsplit

import orjson

from fedgroup import store
from fedgroup.net.fetch import Fetched, FetchError, HttpClient, Signer
from fedgroup.net.throttle import FetchBudget
from fedgroup.protocol import signatures
from fedgroup.protocol.jsonld import as_list, id_of
from fedgroup.protocol.parse import ParseError, is_http_url, key_owner_named, parse_actor, same_origin
from fedgroup.store.actors import CachedActor

log = logging.getLogger(__name__)

MAX_KEYS_IN_MEMORY = 10_000
MAX_REMEMBERED_ATTEMPTS = 10_000
# A keyId is refetched after a failed signature at most this often, and one whose first fetch failed is not
# fetched again sooner: a forged signature must not turn into a fetch storm.
KEY_REFRESH_INTERVAL = timedelta(minutes=1)
# An older copy is fetched again before it is used, so that a key its owner replaced stops working.
KEY_MAX_AGE = timedelta(days=1)
ACTOR_MAX_AGE = timedelta(days=1)
# Answers that show the key is no longer its owner's (a stale copy must not outlive them); any other failure
# to refetch (the server down, a timeout) keeps the stale copy.
_KEY_WITHDRAWN = frozenset(
    {"gone", "key-not-owned", "key-id-mismatch", "key-owner-mismatch", "key-without-owner",
     "owner-on-other-host", "key-on-other-host", "id-mismatch", "bad-actor"}
)  # fmt: skip


def _recent(moments: OrderedDict[str, datetime], key_id: str, now: datetime) -> bool:
    last = moments.get(key_id)
    return last is not None and timedelta(0) <= now - last < KEY_REFRESH_INTERVAL


def _note(moments: OrderedDict[str, datetime], key_id: str, now: datetime) -> None:
    moments[key_id] = now
    moments.move_to_end(key_id)
    if len(moments) > MAX_REMEMBERED_ATTEMPTS:
        moments.popitem(last=False)


class KeyFetchThrottled(FetchError):
    """Too many first fetches of keys lately (from this keyId's host, or overall)."""

    def __init__(self, key_id: str, retry_after: int) -> None:
        super().__init__("key-fetch-rate-limited", key_id)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ActorKey:
    owner: str
    key_id: str
    public_key: Any  # a loaded cryptography key object, never PEM text
    fetched_at: datetime
    # The owner's document, fetched for the request at hand and not stored yet: `confirm` stores it once a
    # signature made with this key holds.
    unconfirmed: CachedActor | None = None


class RemoteActors:
    def __init__(
        self,
        db: store.Database,
        http: HttpClient | None,
        signer: Callable[[], Signer],
        clock: Callable[[], datetime],
        budget: FetchBudget | None = None,
    ) -> None:
        self.db = db
        self.http = http
        self.signer = signer
        self.clock = clock
        self.budget = budget if budget is not None else FetchBudget(0, 0)
        self._keys: OrderedDict[str, ActorKey] = OrderedDict()  # confirmed (stored) keys
        self._unconfirmed: OrderedDict[str, ActorKey] = OrderedDict()
        # When each keyId was last fetched, and last refetched because a signature failed with it.
        self._fetched_at: OrderedDict[str, datetime] = OrderedDict()
        self._refreshed_at: OrderedDict[str, datetime] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[Any]] = {}

    # -- keys ------------------------------------------------------------------------------------

    async def key(self, key_id: str, refresh: bool = False, fetch: bool = True) -> ActorKey | None:
        """The key for a keyId: memory, then SQLite, then the network (see the module's rules).

        `refresh`: a signature just failed with the copy we have; fetch it again, unless that was done less
        than a minute ago (None then). `fetch=False`: only a copy we already have.
        Raises FetchError (KeyFetchThrottled when over budget)."""
        now = self.clock()
        if refresh:
            pending = self._unconfirmed.get(key_id)
            if pending is not None and now - pending.fetched_at < KEY_REFRESH_INTERVAL:
                return None  # the copy that failed came from the network a moment ago
            if not self._may_refresh(key_id, now):
                return None
            return await self._fetch_key(key_id, now)
        stored = await self._stored_key(key_id)
        if stored is not None:
            if not fetch or now - stored.fetched_at < KEY_MAX_AGE or not self._may_refresh(key_id, now):
                return stored
            try:
                return await self._fetch_key(key_id, now)
            except FetchError as e:
                if e.reason in _KEY_WITHDRAWN or e.status == 404:
                    raise
                log.info("stale key kept reason=%s key_id=%s", e.reason, key_id)
                return stored
        pending = self._unconfirmed.get(key_id)
        if pending is not None and now - pending.fetched_at < KEY_REFRESH_INTERVAL:
            return pending
        if not fetch:
            return None
        if f"key:{key_id}" not in self._in_flight and _recent(self._fetched_at, key_id, now):
            # Fetched a moment ago and nothing came of it: the same forged keyId must not fetch again.
            raise FetchError("key-fetch-failed-recently", key_id)
        return await self._fetch_key(key_id, now)

    async def confirm(self, key: ActorKey) -> None:
        """A signature made with `key` held: store the owner's document if it was fetched for it."""
        actor = key.unconfirmed
        if actor is None:
            return
        await self._store(actor)
        self._unconfirmed.pop(key.key_id, None)
        self._remember(ActorKey(key.owner, key.key_id, key.public_key, key.fetched_at))

    async def _stored_key(self, key_id: str) -> ActorKey | None:
        cached = self._keys.get(key_id)
        if cached is not None:
            self._keys.move_to_end(key_id)
            return cached
        actor = await self.db.read(store.actors.by_key_id, key_id)
        if actor is None:
            return None
        return self._remember(
            ActorKey(actor.id, key_id, signatures.load_public_key(actor.public_key_pem), actor.fetched_at)
        )

    def _remember(self, entry: ActorKey) -> ActorKey:
        self._keys[entry.key_id] = entry
        self._keys.move_to_end(entry.key_id)
        if len(self._keys) > MAX_KEYS_IN_MEMORY:
            self._keys.popitem(last=False)
        return entry

    def _may_refresh(self, key_id: str, now: datetime) -> bool:
        """At most one refetch of a key we hold per KEY_REFRESH_INTERVAL (taken when allowed)."""
        if _recent(self._refreshed_at, key_id, now):
            return False
        _note(self._refreshed_at, key_id, now)
        return True

    async def _fetch_key(self, key_id: str, now: datetime) -> ActorKey:
        if not is_http_url(key_id):
            raise FetchError("bad-url", key_id)
        flight = f"key:{key_id}"
        if flight not in self._in_flight:  # joining a fetch under way costs nothing
            wait = self.budget.take(urlsplit(key_id).netloc.lower(), now.timestamp())
            if wait is not None:
                log.info("key fetch refused reason=rate-limited key_id=%s", key_id)
                raise KeyFetchThrottled(key_id, wait)
            _note(self._fetched_at, key_id, now)
        actor = await self._single_flight(flight, lambda: self._fetch_key_owner(key_id))
        try:
            public_key = signatures.load_public_key(actor.public_key_pem)
        except ValueError as e:
            raise FetchError("bad-actor", str(e)) from e
        entry = ActorKey(actor.id, key_id, public_key, actor.fetched_at, unconfirmed=actor)
        self._unconfirmed[key_id] = entry
        self._unconfirmed.move_to_end(key_id)
        if len(self._unconfirmed) > MAX_KEYS_IN_MEMORY:
            self._unconfirmed.popitem(last=False)
        return entry

    async def _fetch_key_owner(self, key_id: str) -> CachedActor:
        """The owner of a keyId, with every check done and nothing stored: the document at the keyId names
        the owner (on the keyId's origin); the owner's own document, fetched from its id, must list the key."""
        key_doc = await self._get_public(urldefrag(key_id).url)
        if not same_origin(key_doc.url, key_id):
            raise FetchError("key-on-other-host", f"{key_id} answered from {key_doc.url}")
        try:
            owner = key_owner_named(key_doc.document, key_id)
        except ParseError as e:
            raise FetchError(e.reason, key_id) from e
        if not same_origin(owner, key_id):
            raise FetchError("owner-on-other-host", f"{key_id} names {owner}")
        owner_doc = key_doc
        is_the_actor = id_of(key_doc.document.get("id")) == owner == key_doc.url
        if not (is_the_actor and "inbox" in key_doc.document):
            # A stub (GoToSocial) or a bare key: the actor's document is at its own URL.
            owner_doc = await self._get_public(owner)
        if owner_doc.url != owner or id_of(owner_doc.document.get("id")) != owner:
            raise FetchError("id-mismatch", f"asked for {owner}, got {owner_doc.document.get('id')!r}")
        return self._actor_of(owner_doc.document, key_id)

    async def _get_public(self, url: str) -> Fetched:
        """Keys are public: ask without a signature, so that no one can make us sign a request to a URL of
        their choosing by naming it as a keyId. Servers that refuse unsigned GETs of actors (GoToSocial's
        full actor, Akkoma, Mastodon in secure mode for some paths) answer 401/403: then once signed."""
        if self.http is None:
            raise FetchError("offline", url)
        try:
            return await self.http.fetch_document(url, None)
        except FetchError as e:
            if e.status not in (401, 403):
                raise
        return await self.http.fetch_document(url, self.signer())

    # -- actors ----------------------------------------------------------------------------------

    async def actor(self, actor_id: str, max_age: timedelta = ACTOR_MAX_AGE) -> CachedActor:
        """The actor from the cache, fetched when missing or stale (a stale copy beats none)."""
        cached = await self.db.read(store.actors.by_id, actor_id)
        if cached is not None and self.clock() - cached.fetched_at < max_age:
            return cached
        try:
            return await self._single_flight(f"actor:{actor_id}", lambda: self.refresh(actor_id))
        except FetchError:
            if cached is not None:
                return cached
            raise

    async def cached(self, actor_id: str) -> CachedActor | None:
        return await self.db.read(store.actors.by_id, actor_id)

    async def refresh(self, actor_id: str) -> CachedActor:
        """Fetch the actor at its id (signed by our instance actor) and store it: only a document whose id is
        the URL it came from, which is the URL asked for."""
        if self.http is None:
            raise FetchError("offline", actor_id)
        fetched = await self.http.fetch_document(actor_id, self.signer())
        if fetched.url != actor_id or id_of(fetched.document.get("id")) != actor_id:
            raise FetchError("id-mismatch", f"asked for {actor_id}, got {fetched.document.get('id')!r}")
        actor = self._actor_of(fetched.document)
        await self._store(actor)
        return actor

    async def move_target(self, moved: str, target: str) -> CachedActor:
        """The account `moved` says it moved to, fetched from the target's own origin and stored only if it
        names `moved` among its `alsoKnownAs` (the target's owner agreed to the move, as Mastodon checks)."""
        if self.http is None:
            raise FetchError("offline", target)
        fetched = await self.http.fetch_document(target, self.signer())
        if fetched.url != target or id_of(fetched.document.get("id")) != target:
            raise FetchError("id-mismatch", f"asked for {target}, got {fetched.document.get('id')!r}")
        if moved not in {id_of(a) for a in as_list(fetched.document.get("alsoKnownAs"))}:
            raise FetchError("move-not-confirmed", f"{target} does not name {moved} in alsoKnownAs")
        actor = self._actor_of(fetched.document)
        await self._store(actor)
        return actor

    async def accept_document(self, doc: dict[str, Any], sender: str) -> CachedActor:
        """Store an actor document that reached us in an activity whose signature `sender`'s key verified
        (an Update of a profile): only the sender's own document."""
        if id_of(doc.get("id")) != sender:
            raise FetchError("not-own-document", f"{sender} sent {doc.get('id')!r}")
        actor = self._actor_of(doc)
        await self._store(actor)
        return actor

    def _actor_of(self, doc: dict[str, Any], key_id: str | None = None) -> CachedActor:
        """The actor read from its document (with the key `key_id`, when asked for one); nothing stored."""
        try:
            parsed = parse_actor(doc, key_id)
            signatures.load_public_key(parsed.public_key_pem)
        except ParseError as e:
            raise FetchError(e.reason if e.reason == "key-not-owned" else "bad-actor", str(e)) from e
        except ValueError as e:
            raise FetchError("bad-actor", str(e)) from e
        return CachedActor(
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

    async def forget(self, actor_id: str) -> None:
        """A deleted account: its stored document is gone (the caller removed it); its keys go from memory, so
        that nothing it signs verifies any more without fetching its document again."""
        for keys in (self._keys, self._unconfirmed):
            for key_id in [k for k, entry in keys.items() if entry.owner == actor_id]:
                del keys[key_id]

    async def _store(self, actor: CachedActor) -> None:
        def save(conn: Any) -> str | None:
            previous = store.actors.by_id(conn, actor.id)
            store.actors.save(conn, actor)
            return previous.key_id if previous is not None else None

        previous_key_id = await self.db.write(save)
        # The copies in memory of the old key (a rotation may change the keyId) and of the new one go.
        for key_id in {k for k in (previous_key_id, actor.key_id) if k is not None}:
            self._keys.pop(key_id, None)
            self._unconfirmed.pop(key_id, None)

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
