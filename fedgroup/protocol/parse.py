"""Reading incoming ActivityStreams documents into our small frozen dataclasses, defensively.

Values arrive as strings, objects or arrays depending on the server (GoToSocial sends a string `to`, Misskey
arrays, Lemmy's Group `attributedTo` is a collection); everything past this edge uses the dataclasses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fedgroup.protocol.jsonld import as_list, id_of, is_public, types_of

MAX_URL = 2048

ACTOR_TYPES = ("Person", "Group", "Service", "Application", "Organization")
ACTIVITY_TYPES = (
    "Create", "Update", "Delete", "Follow", "Accept", "Reject", "Undo", "Announce", "Like", "Dislike", "Block",
    "Flag", "Move", "Add", "Remove", "Join", "Leave", "Invite", "Offer", "TentativeAccept", "TentativeReject",
    "View", "Read", "Listen", "Question", "Pledge", "EmojiReact",
)  # fmt: skip
OBJECT_TYPES = (
    "Note",
    "Question",
    "Article",
    "Page",
    "Event",
    "Image",
    "Video",
    "Audio",
    "Document",
    "Tombstone",
)


class ParseError(ValueError):
    """A document we cannot use; `reason` is a grep-able slug."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# Whitespace, C0 controls, DEL and C1 controls: urlsplit keeps them (NUL included), and no real id contains one.
_NOT_IN_URLS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def is_http_url(value: Any) -> bool:
    return isinstance(value, str) and _is_http_url(value)


# The same few ids (actors, the group, the public collection) come back in every activity: remember verdicts.
# The shape nearly every id has (scheme, plain host or [IPv6], optional port, then a path): one match instead
# of urlsplit; anything else (user info, odd hosts) is judged by urlsplit below.
_PLAIN_HTTP_URL = re.compile(r"(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?(?=[/?#]|$)")


# The same, over the whole id at once: a plain origin, then only characters an id may hold. A new id (every
# activity has one) is judged by this one scan instead of a search for forbidden characters and a match.
_PLAIN_HTTP_ID = re.compile(
    r"(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?(?:[/?#][^\s\x00-\x1f\x7f-\x9f]*)?"
)


@functools.lru_cache(maxsize=4096)
def _is_http_url(value: str) -> bool:
    if len(value) > MAX_URL:
        return False
    plain = _PLAIN_HTTP_ID.fullmatch(value)
    if plain is not None:
        return plain[3] is None or int(plain[3]) <= 65535
    if _NOT_IN_URLS.search(value):
        return False
    plain = _PLAIN_HTTP_URL.match(value)
    if plain is not None and (plain[3] is None or int(plain[3]) <= 65535):
        return True
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _url(value: Any, reason: str, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not is_http_url(value):
        raise ParseError(reason, str(value)[:100])
    return str(value)


def _optional_url(value: Any) -> str | None:
    """A link that may be a string, a Link object or a list of them; None when there is no usable one."""
    for item in as_list(value):
        candidate = item.get("href", item.get("id")) if isinstance(item, dict) else item
        if is_http_url(candidate):
            return candidate
    return None


def text_value(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def language_text(doc: dict[str, Any], key: str) -> str | None:
    """`content`, or the first value of `contentMap` when only that is given."""
    text = text_value(doc.get(key))
    if text is not None:
        return text
    mapped = doc.get(f"{key}Map")
    if isinstance(mapped, dict):
        for value in mapped.values():
            if isinstance(value, str):
                return value
    return None


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(i for i in (id_of(v) for v in as_list(value)) if i is not None)


def _pick_type(types: tuple[str, ...], known: tuple[str, ...]) -> str | None:
    """The first known type (a type may be an array mixing AS and extension types)."""
    for t in types:
        if t in known:
            return t
    return types[0] if types else None


def same_origin(a: str | None, b: str | None) -> bool:
    """Scheme, host and port equal: Mastodon refuses objects whose id is on another host than the actor."""
    if not a or not b:
        return False
    origin_a = _origin(a)
    return origin_a is not None and origin_a == _origin(b)


_DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=4096)
def _origin(url: str) -> tuple[str, str, int | None] | None:
    plain = _PLAIN_HTTP_URL.match(url)
    if plain is not None:
        scheme, host, port = plain[1], plain[2].lower(), int(plain[3] or 0)
        return (scheme, host.strip("[]"), port or _DEFAULT_PORTS[scheme]) if port <= 65535 else None
    try:
        parts = urlsplit(url)
        return parts.scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None


# -- actors ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteActor:
    id: str
    type: str
    preferred_username: str | None
    name: str | None
    summary: str | None
    inbox: str
    shared_inbox: str | None
    outbox: str | None
    followers: str | None
    url: str | None
    key_id: str
    public_key_pem: str
    manually_approves_followers: bool
    also_known_as: tuple[str, ...]
    discoverable: bool | None


def parse_actor(doc: dict[str, Any], key_id: str | None = None) -> RemoteActor:
    """The actor, with the key whose id is `key_id` (one of several in a `publicKey` array), or with its
    first usable key when no key id is asked for. A key names the actor as its owner (or no owner) and lives
    on the actor's origin."""
    if not isinstance(doc, dict):
        raise ParseError("not-an-object")
    actor_id = _url(doc.get("id"), "missing-id")
    assert actor_id is not None
    inbox = _url(doc.get("inbox"), "missing-inbox")
    assert inbox is not None
    key = None
    for candidate in as_list(doc.get("publicKey")):
        if not isinstance(candidate, dict) or not isinstance(candidate.get("publicKeyPem"), str):
            continue
        if key_id is not None and candidate.get("id") != key_id:
            continue
        owner = id_of(candidate.get("owner"))
        if owner in (None, actor_id):
            key = candidate
            break
    if key is None:
        raise ParseError("missing-key" if key_id is None else "key-not-owned", key_id or actor_id)
    found_key_id = key.get("id")
    if not isinstance(found_key_id, str) or not is_http_url(found_key_id):
        raise ParseError("missing-key-id", actor_id)
    if not same_origin(found_key_id, actor_id):
        raise ParseError("key-on-other-host", found_key_id)
    endpoints = doc.get("endpoints")
    if not isinstance(endpoints, dict):
        endpoints = {}
    shared = endpoints.get("sharedInbox") or doc.get("sharedInbox")  # Misskey also puts it at the top level
    types = types_of(doc)
    return RemoteActor(
        id=actor_id,
        type=_pick_type(types, ACTOR_TYPES) or "Person",
        preferred_username=text_value(doc.get("preferredUsername")),
        name=text_value(doc.get("name")),
        summary=text_value(doc.get("summary")),
        inbox=inbox,
        shared_inbox=shared if is_http_url(shared) else None,
        outbox=_optional_url(doc.get("outbox")),
        followers=_optional_url(doc.get("followers")),
        url=_optional_url(doc.get("url")),
        key_id=found_key_id,
        public_key_pem=key["publicKeyPem"],
        manually_approves_followers=doc.get("manuallyApprovesFollowers") is True,
        also_known_as=tuple(u for u in _ids(doc.get("alsoKnownAs")) if is_http_url(u)),
        discoverable=doc.get("discoverable") if isinstance(doc.get("discoverable"), bool) else None,
    )


def key_owner_named(doc: dict[str, Any], key_id: str) -> str:
    """Who the document fetched at a keyId says owns that key (it is not trusted yet: the owner's own
    document must list the key). Three shapes are in use:

    - the actor itself, its `publicKey` (an object or an array) holding the key (Mastodon: `actor#main-key`);
    - a stub of the actor, `{id: actor, publicKey: {id: keyId, owner: actor, ...}}` and no inbox
      (GoToSocial: `actor/main-key`);
    - a bare key, `{id: keyId, owner: actor, publicKeyPem: ...}` (what Mastodon's key fetch also accepts).
    """
    doc_id = id_of(doc.get("id"))
    if "publicKeyPem" in doc or ("owner" in doc and "publicKey" not in doc):
        if doc_id != key_id:
            raise ParseError("key-id-mismatch", f"{key_id} answered with {doc_id}")
        owner = id_of(doc.get("owner"))
        if not is_http_url(owner):
            raise ParseError("key-without-owner", key_id)
        assert owner is not None
        return owner
    for entry in as_list(doc.get("publicKey")):
        if id_of(entry) != key_id:
            continue
        named = id_of(entry.get("owner")) if isinstance(entry, dict) else None
        if named is not None and doc_id is not None and named != doc_id:
            raise ParseError("key-owner-mismatch", f"{key_id}: owner {named}, document {doc_id}")
        owner = named or doc_id
        if not is_http_url(owner):
            raise ParseError("key-without-owner", key_id)
        assert owner is not None
        return owner
    raise ParseError("key-not-owned", key_id)


# -- activities -------------------------------------------------------------------------------------------


# Objects one activity may carry: a multiple-choice vote names at most as many as a poll has options.
MAX_OBJECTS = 20


@dataclass(frozen=True)
class Activity:
    id: str | None
    type: str
    types: tuple[str, ...]
    actor: str
    object_id: str | None
    object: dict[str, Any] | None
    target_id: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    raw: dict[str, Any]
    # Every embedded object, in order, when `object` is a list (Mitra sends a multiple-choice vote as one
    # Create of several Notes); `object` above is the first of them.
    objects: tuple[dict[str, Any], ...] = ()

    @property
    def object_type(self) -> str | None:
        if self.object is None:
            return None
        return parse_object_type(self.object)


def parse_object_type(obj: dict[str, Any]) -> str | None:
    """The type of an embedded object, the known one first when it has several."""
    return _pick_type(types_of(obj), (*OBJECT_TYPES, *ACTIVITY_TYPES, *ACTOR_TYPES))


def parse_activity(doc: dict[str, Any]) -> Activity:
    if not isinstance(doc, dict):
        raise ParseError("not-an-object")
    types = types_of(doc)
    kind = _pick_type(types, ACTIVITY_TYPES)
    if kind is None:
        raise ParseError("missing-type")
    actor = id_of(doc.get("actor"))
    if actor is None:
        raise ParseError("missing-actor")
    if not is_http_url(actor):
        raise ParseError("bad-actor", actor[:100])
    activity_id = doc.get("id")
    if activity_id is not None and not is_http_url(activity_id):
        raise ParseError("bad-id", str(activity_id)[:100])
    raw_object = doc.get("object")
    objects: tuple[dict[str, Any], ...] = ()
    if isinstance(raw_object, list):
        if len(raw_object) > MAX_OBJECTS:
            raise ParseError("too-many-objects", str(len(raw_object)))
        objects = tuple(o for o in raw_object if isinstance(o, dict))
        raw_object = raw_object[0] if raw_object else None
    elif isinstance(raw_object, dict):
        objects = (raw_object,)
    embedded = raw_object if isinstance(raw_object, dict) else None
    object_id = id_of(raw_object)
    if object_id is not None and not is_http_url(object_id):
        raise ParseError("bad-object-id", object_id[:100])
    return Activity(
        id=activity_id,
        type=kind,
        types=types,
        actor=actor,
        object_id=object_id,
        object=embedded,
        target_id=id_of(doc.get("target")),
        to=_ids(doc.get("to")),
        cc=_ids(doc.get("cc")),
        raw=doc,
        objects=objects,
    )


def audience(doc: dict[str, Any]) -> set[str]:
    """Everyone a document is addressed to (to, cc, bto, bcc, audience)."""
    return {i for key in ("to", "cc", "bto", "bcc", "audience") for i in _ids(doc.get(key))}


def is_addressed_publicly(doc: dict[str, Any]) -> bool:
    return any(is_public(i) for i in audience(doc))


# -- objects ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    id: str
    type: str
    attributed_to: str | None
    in_reply_to: str | None
    name: str | None
    content: str | None
    summary: str | None
    published: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    url: str | None

    @property
    def is_vote(self) -> bool:
        """A poll vote: a named Note replying to a Question, with no content (Mastodon, Misskey, GoToSocial)."""
        return bool(self.name) and self.in_reply_to is not None and not self.content


def parse_note(obj: dict[str, Any]) -> Note:
    if not isinstance(obj, dict):
        raise ParseError("not-an-object")
    object_id = _url(obj.get("id"), "missing-id")
    assert object_id is not None
    attributed = [i for i in _ids(obj.get("attributedTo")) if is_http_url(i)]
    in_reply_to = id_of(obj.get("inReplyTo"))
    return Note(
        id=object_id,
        type=_pick_type(types_of(obj), OBJECT_TYPES) or "Note",
        attributed_to=attributed[0] if attributed else None,
        in_reply_to=in_reply_to if is_http_url(in_reply_to) else None,
        name=language_text(obj, "name"),
        content=language_text(obj, "content"),
        summary=language_text(obj, "summary"),
        published=text_value(obj.get("published")),
        to=_ids(obj.get("to")),
        cc=_ids(obj.get("cc")),
        url=_optional_url(obj.get("url")),
    )


# -- moderation ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    actor: str
    objects: tuple[str, ...]
    comment: str


def parse_flag(activity: Activity) -> Report:
    """A Flag: objects may be one IRI or a list (account first, then statuses); the reason may be in
    `content` (Mastodon) or `summary` (Lemmy)."""
    raw = activity.raw
    objects = tuple(i for i in _ids(raw.get("object")) if is_http_url(i))
    if not objects:
        raise ParseError("missing-object")
    comment = language_text(raw, "content") or language_text(raw, "summary") or ""
    return Report(actor=activity.actor, objects=objects, comment=comment)


@dataclass(frozen=True)
class Move:
    actor: str
    target: str


def parse_move(activity: Activity) -> Move:
    target = activity.target_id
    if activity.object_id != activity.actor or not is_http_url(target):
        raise ParseError("bad-move")
    assert target is not None
    return Move(actor=activity.actor, target=target)


# -- fedgroup's extension: partner campaigns and group pledges ------------------------------------------------
