"""A corpus of hostile requests, each signed by a real (fake) remote actor and POSTed to a live server's inbox.

For every one: the answer is a 4xx or a harmless 202, never a 5xx. A 4xx leaves every table exactly as it was
(the whole content of every table is compared, not just counts). A 202 changes only the tables the case
allows, its activity is processed without a crash, and any remote HTML it carried is stored and shown
sanitised. Run with -s to see the figures (corpus size, refused by status, accepted harmless).
"""

from __future__ import annotations

import functools
import json
import time
import tracemalloc
import uuid
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from fedgroup import actions
from fedgroup.actions.campaign_inbox import MAX_COMMENT
from fedgroup.federation.inbox import MAX_BODY_BYTES, MAX_RECIPIENTS
from fedgroup.protocol import jsonld
from fedgroup.protocol.signatures import content_digest
from fedgroup.rules import passwords
from fedgroup.store import datadir
from tests.conftest import RunningServer, database_snapshot, eventually, key_pair, writes_settled
from tests.fixture_world import FIXTURES, FixtureWorld
from tests.peer import FakeActor, FakeMastodon, cavage_sign, free_socket
from tests.web_client import WebClient

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS = "https://www.w3.org/ns/activitystreams"
PASSWORD = "correct horse battery"

# What no stored or shown reply may contain, whatever the sender wrote (compared in lower case).
FORBIDDEN = (
    "<script", "</script", "<style", "<iframe", "<object", "<embed", "<svg", "<math", "<form", "<input",
    "<meta", "<base", "<link", "<img", "<video", "<audio", "<frame", "<template", "<textarea",
    "onerror", "onload", "onclick", "onmouseover", "onfocus", "style=", "javascript:", "vbscript:", "data:",
    "expression(", "srcdoc", "formaction", "tracker.example", "<!--",
)  # fmt: skip

HOSTILE_HTML = [
    "<p>Count me in<script>steal(document.cookie)</script></p>",
    '<p>ok</p><style>body{background:url("https://tracker.example/x")}</style>',
    '<img src="https://tracker.example/p.gif" onerror="steal()">',
    '<a href="javascript:steal()">click</a> <a href="JaVaScRiPt:steal()">again</a>',
    '<a href="jav&#x61;script:steal()">encoded</a> <a href=" javascript:steal()">spaced</a>',
    '<a href="java\tscript:steal()">tab</a> <a href="vbscript:steal()">vb</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5zdGVhbCgpPC9zY3JpcHQ+">data link</a>',
    '<iframe src="https://tracker.example/frame" srcdoc="<script>steal()</script>"></iframe>',
    '<p style="position:fixed;top:0;background:url(https://tracker.example/c)">css</p>',
    '<div onclick="steal()" onmouseover="steal()">hover</div>',
    '<svg onload="steal()"><script>steal()</script></svg><math><mtext><img onerror=steal()></mtext></math>',
    '<object data="https://tracker.example/o"></object><embed src="https://tracker.example/e">',
    '<form action="https://tracker.example/f"><input name="pw"><button formaction="javascript:steal()">'
    "go</button></form>",
    '<meta http-equiv="refresh" content="0;url=https://tracker.example/"><base href="https://tracker.example/">',
    '<link rel="stylesheet" href="https://tracker.example/s.css"><!-- <script>steal()</script> -->',
    "<p>unclosed <script>steal()",
    '<scr<script>ipt>steal()</scr</script>ipt><p style="width: expression(steal())">ie</p>',
    "<textarea><script>steal()</script></textarea><template><img src=x onerror=steal()></template>",
]


# -- the world each case runs in ------------------------------------------------------------------------


@dataclass
class World:
    server: Any
    peer: Any
    alice: FakeActor
    bob: FakeActor
    campaign_id: int
    campaign_url: str
    inbox: str
    context_url: str  # a loopback server that records anything asking for it: no @context is ever fetched
    organizer: WebClient | None = None
    context_requests: list[str] = field(default_factory=list)

    def note_id(self, actor: FakeActor | None = None) -> str:
        return f"{(actor or self.alice).id}/statuses/{uuid.uuid4()}"

    def activity(self, type_: str = "Like", by: FakeActor | None = None, **fields: Any) -> dict[str, Any]:
        actor = by or self.alice
        doc = {"@context": AS, "id": f"{actor.id}#{type_.lower()}/{uuid.uuid4()}", "type": type_,
               "actor": actor.id, "object": f"{actor.id}/statuses/1"}  # fmt: skip
        doc.update(fields)
        return doc

    def reply(self, content: Any, **fields: Any) -> dict[str, Any]:
        note = {"id": self.note_id(), "type": "Note", "attributedTo": self.alice.id, "content": content,
                "inReplyTo": self.campaign_url, "to": [PUBLIC], "url": None}  # fmt: skip
        note.update(fields)
        note = {k: v for k, v in note.items() if v is not None}
        return self.activity("Create", object=note, to=[PUBLIC], id=note["id"] + "/activity")


@dataclass
class Sent:
    body: bytes
    signer: FakeActor | None  # None: unsigned
    sign_options: dict[str, Any] = field(default_factory=dict)
    chunked: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)


Build = Callable[[World], Sent | dict[str, Any] | bytes]
Check = Callable[[World, list[tuple]], Awaitable[None]]  # the world, the comments rows the case added


@dataclass(frozen=True)
class Case:
    name: str
    build: Build
    expect: int  # 202, or the 4xx status
    may_change: frozenset[str] = frozenset({"inbox_activities"})  # tables a 202 may touch
    check: Check | None = None


def rfc9421_dated(w: World, created: int, expires: int | None = None) -> Sent:
    body = json.dumps(w.activity()).encode()
    params = f";created={created}" + (f";expires={expires}" if expires is not None else "")
    return Sent(body, None, extra_headers={
        "Content-Digest": content_digest(body),
        "Signature-Input": f'sig1=("@method" "@target-uri" "content-digest"){params};keyid="{w.alice.key_id}"',
        "Signature": "sig1=:AAAA:",
    })  # fmt: skip


def cavage_dated(w: World, created: str) -> Sent:
    """hs2019 with a (created) the float parser reads as infinite or as a year past 9999."""
    body = json.dumps(w.activity()).encode()
    signature = (f'keyId="{w.alice.key_id}",algorithm="hs2019",created="{created}",'
                 'headers="(request-target) (created) host digest",signature="AAAA"')  # fmt: skip
    return Sent(body, w.alice, extra_headers={"Signature": signature})


def case(name: str, build: Build, expect: int, may_change: tuple[str, ...] = (), check: Check | None = None):
    return Case(name, build, expect, frozenset({"inbox_activities", *may_change}), check)


# -- checks for accepted cases --------------------------------------------------------------------------


async def sanitised_reply(world: World, added: list[tuple]) -> None:
    assert len(added) == 1, added
    content = added[0][COMMENT_CONTENT]
    assert added[0][COMMENT_AUTHOR] == world.alice.id
    assert len(content) <= 2 * MAX_COMMENT
    lowered = content.lower()
    for bad in FORBIDDEN:
        assert bad not in lowered, f"{bad!r} in stored reply {content!r}"
    for invisible in ("\x00", "\x7f", "\u202e", "\u200b", "\u2066"):
        assert invisible not in content, f"{invisible!r} in stored reply {content!r}"
    assert world.organizer is not None
    page = await world.organizer.get(f"/organize/campaigns/{world.campaign_id}")
    assert page.status == 200
    replies = page.text.split('aria-labelledby="replies-heading"', 1)[1].split("</section>", 1)[0]
    assert world.alice.id in replies, "the reply is shown"
    lowered = replies.lower()
    for bad in FORBIDDEN:
        assert bad not in lowered, f"{bad!r} in the replies shown on the organizer page"
    assert "script-src 'none'" in page.headers.get("Content-Security-Policy", "")


async def hostile_actor_urls_dropped(world: World) -> None:
    dave = world.peer.actors["dave"].id
    row = await world.server.runtime.db.fetchone(
        "SELECT inbox, shared_inbox, url FROM remote_actors WHERE id = ?", (dave,)
    )
    assert tuple(row) == (f"{dave}/inbox", None, None), tuple(row)
    followers = await world.server.runtime.db.fetchall("SELECT inbox, shared_inbox FROM followers")
    assert (f"{dave}/inbox", None) in [tuple(f) for f in followers]


async def stored_reply_is_short(world: World, added: list[tuple]) -> None:
    [row] = added
    assert 0 < len(row[COMMENT_CONTENT]) <= 2 * MAX_COMMENT


# -- the corpus -----------------------------------------------------------------------------------------


def nested_lists(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def with_field(world: World, raw: bytes) -> bytes:
    """A valid Like with one more field whose raw JSON is `raw` (for bodies json.dumps cannot make)."""
    doc = json.dumps(world.activity()).encode()
    return doc[:-1] + b', "junk": ' + raw + b"}"


def big_body(world: World, size: int) -> bytes:
    return with_field(world, b'"' + b"x" * size + b'"')


@functools.cache
def inflating_bomb(wbits: int) -> bytes:
    """About 100 KB on the wire, 100 MB once inflated (gzip: wbits 31, zlib/deflate: 15)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    chunk = b"x" * (1024 * 1024)
    parts = [packer.compress(b'{"a": "')]
    parts += [packer.compress(chunk) for _ in range(100)]
    parts += [packer.compress(b'"}'), packer.flush()]
    return b"".join(parts)


def other_host(url: str) -> str:
    return url.replace("127.0.0.1", "127.0.0.9")


CORPUS = [
    # identity and origin
    case("missing-id", lambda w: {k: v for k, v in w.activity().items() if k != "id"}, 400),
    case("id-null", lambda w: w.activity(id=None), 400),
    case("id-on-other-host", lambda w: w.activity(id=other_host(w.alice.id) + "#like/1"), 400),
    case("id-on-other-port", lambda w: w.activity(id=w.bob.id.replace(w.peer.base_url, "http://127.0.0.1:1")), 400),
    case("id-other-scheme", lambda w: w.activity(id=w.alice.id.replace("http:", "https:") + "#x"), 400),
    case("foreign-object-id", lambda w: w.activity("Create", object={"id": other_host(w.note_id()), "type": "Note", "content": "hi"}), 400),
    case("create-object-without-id", lambda w: w.activity("Create", object={"type": "Note", "content": "hi"}), 400),
    case("actor-not-signer", lambda w: Sent(json.dumps(w.activity(by=w.bob)).encode(), w.alice), 403),
    case("actor-object-not-signer", lambda w: Sent(json.dumps(w.activity(actor={"id": w.bob.id, "type": "Person"})).encode(), w.alice), 403),
    case("actor-list-first-not-signer", lambda w: Sent(json.dumps(w.activity(actor=[w.bob.id, w.alice.id])).encode(), w.alice), 403),
    case("actor-on-other-host-than-key", lambda w: Sent(json.dumps(w.activity(actor=other_host(w.alice.id), id=other_host(w.alice.id) + "#a")).encode(), w.alice), 403),
    case("id-not-a-url", lambda w: w.activity(id="not a url"), 400),
    case("id-urn", lambda w: w.activity(id=f"urn:uuid:{uuid.uuid4()}"), 400),
    case("id-javascript", lambda w: w.activity(id="javascript:alert(1)//" + w.alice.id), 400),
    case("id-data-url", lambda w: w.activity(id="data:text/html,<script>alert(1)</script>"), 400),
    case("id-with-nul", lambda w: w.activity(id=w.alice.id + "\x00#like"), 400),
    case("id-with-newline", lambda w: w.activity(id=w.alice.id + "\n#like"), 400),
    case("id-too-long", lambda w: w.activity(id=w.alice.id + "#" + "a" * 5000), 400),
    case("object-id-javascript", lambda w: w.activity(object="javascript:alert(1)"), 400),
    case("actor-javascript", lambda w: Sent(json.dumps(w.activity(actor="javascript:alert(1)")).encode(), w.alice), 400),
    case("actor-document-inbox-javascript", lambda w: Sent(json.dumps(w.activity(by=w.peer.actors["mallory"])).encode(), w.peer.actors["mallory"]), 401),
    case("actor-document-data-and-javascript-urls", lambda w: Sent(json.dumps(w.activity("Follow", by=w.peer.actors["dave"], object=w.server.url("/groups/water"))).encode(), w.peer.actors["dave"]), 202,
         may_change=("remote_actors", "followers", "outbox_activities", "deliveries", "delivery_hosts"), check=lambda w, _: hostile_actor_urls_dropped(w)),
    # shapes
    case("types-as-array", lambda w: w.activity(type=["Like", "https://example.org/ns#Frobnicate"]), 202),
    case("type-unknown-only", lambda w: w.activity(type=["Frobnicate"]), 202),
    case("type-object", lambda w: w.activity(type={"a": 1}), 400),
    case("type-empty-list", lambda w: w.activity(type=[]), 400),
    case("type-number", lambda w: w.activity(type=5), 400),
    # An embedded object's type that is not a string (an object, or one inside a list) names no type: every
    # activity that embeds an object is processed without a crash (an Undo's once raised, retried for days).
    *(case(f"{kind.lower()}-embedding-a-{name}-type", lambda w, kind=kind, odd=odd: w.activity(kind, object={
        "id": w.note_id(), "type": odd, "actor": w.alice.id, "attributedTo": w.alice.id, "object": w.campaign_url,
    }), 202) for kind in ("Undo", "Accept", "Reject", "Create", "Update", "Delete", "Announce", "Like", "Flag")
      for name, odd in (("object", {"a": 1}), ("listed-object", [{"a": 1}, "Follow"]), ("nested-list", [["Join"]]))),
    case("id-number", lambda w: w.activity(id=12), 400),
    case("actor-number", lambda w: w.activity(actor=5), 400),
    case("object-number", lambda w: w.activity("Follow", object=3.5), 202),
    case("object-empty-list", lambda w: w.activity("Create", object=[]), 202),
    case("to-numbers", lambda w: w.activity(to=[1, 2.5, True, None, {"id": 7}]), 202),
    case("reply-fields-as-numbers", lambda w: w.reply(12, published=5, url=7, attributedTo=[3]), 202, may_change=("comments",)),
    case("reply-content-object", lambda w: w.reply({"en": "<script>steal()</script>"}), 202, may_change=("comments",)),
    case("json-array", lambda w: b"[1, 2]", 400),
    case("json-string", lambda w: b'"Follow"', 400),
    case("json-null", lambda w: b"null", 400),
    case("empty-body", lambda w: b"", 400),
    case("not-json", lambda w: b"{'id': 1}", 400),
    case("trailing-garbage", lambda w: json.dumps(w.activity()).encode() + b"}{", 400),
    case("number-out-of-range", lambda w: with_field(w, b"1e400"), 400),
    case("huge-integer", lambda w: with_field(w, b"1" + b"0" * 5000), 400),
    case("nan", lambda w: with_field(w, b"NaN"), 400),
    # encodings
    case("non-utf8-bytes", lambda w: json.dumps(w.activity()).encode()[:-1] + b', "name": "\xff\xfe\xc3("}', 400),
    case("utf16-body", lambda w: json.dumps(w.activity()).encode("utf-16"), 400),
    case("lone-surrogate-escape", lambda w: with_field(w, b'"\\ud800"'), 400),
    case("lone-low-surrogate", lambda w: with_field(w, b'"\\udc00x"'), 400),
    case("nul-in-reply", lambda w: w.reply("<p>a\u0000b\u202eevil\u200b</p>"), 202, may_change=("comments",), check=sanitised_reply),
    case("bom-prefixed", lambda w: b"\xef\xbb\xbf" + json.dumps(w.activity()).encode(), 400),
    # duplicate keys: refused whichever comes last (parsers disagree on which one wins)
    case("duplicate-actor-last-is-signer", lambda w: Sent(json.dumps(w.activity()).encode()[:-1] + f', "actor": "{w.bob.id}", "actor": "{w.alice.id}"}}'.encode(), w.alice), 400),
    case("duplicate-actor-last-is-other", lambda w: Sent(json.dumps(w.activity()).encode()[:-1] + f', "actor": "{w.alice.id}", "actor": "{w.bob.id}"}}'.encode(), w.alice), 400),
    case("duplicate-id-last-foreign", lambda w: json.dumps(w.activity()).encode()[:-1] + f', "id": "{other_host(w.alice.id)}#x"}}'.encode(), 400),
    # an RFC 9421 signature dated beyond what a date can hold (year 31 million): a 401, not a crash
    case("rfc9421-created-out-of-range", lambda w: rfc9421_dated(w, 999_999_999_999_999), 401),
    case("rfc9421-expires-out-of-range", lambda w: rfc9421_dated(w, int(time.time()), expires=-999_999_999_999_999), 401),
    case("cavage-created-infinite", lambda w: cavage_dated(w, "inf"), 401),
    case("cavage-created-out-of-range", lambda w: cavage_dated(w, "1e300"), 401),
    # size and depth
    case("nesting-bomb-10000-lists", lambda w: with_field(w, nested_lists(10_000)), 400),
    case("nesting-bomb-100000-lists", lambda w: with_field(w, nested_lists(100_000)), 400),
    case("nesting-bomb-dicts", lambda w: with_field(w, b'{"a":' * 40 + b"1" + b"}" * 40), 400),
    case("nesting-bomb-in-object", lambda w: w.activity("Create", object={"id": w.note_id(), "type": "Note", "tag": json.loads(nested_lists(40))}), 400),
    case("unbalanced-deep", lambda w: with_field(w, b"[" * 500_000), 400),
    case("body-just-over-limit", lambda w: big_body(w, MAX_BODY_BYTES), 413),
    case("body-10mb", lambda w: big_body(w, 10 * 1024 * 1024), 413),
    case("body-10mb-chunked", lambda w: Sent(big_body(w, 10 * 1024 * 1024), w.alice, chunked=True), 413),
    case("gzip-bomb", lambda w: Sent(inflating_bomb(31), w.alice, extra_headers={"Content-Encoding": "gzip"}), 413),
    case("deflate-bomb", lambda w: Sent(inflating_bomb(15), w.alice, extra_headers={"Content-Encoding": "deflate"}), 413),
    case("huge-reply-content", lambda w: w.reply("<p>" + "wall of text " * 70_000 + "</p>"), 202, may_change=("comments",), check=stored_reply_is_short),
    case("huge-string-in-unknown-field", lambda w: w.activity(junk="x" * 900_000), 202),
    case("many-small-values", lambda w: w.activity(junk=list(range(100_000))), 202),
    case("too-many-to", lambda w: w.activity(to=[f"{w.alice.id}/f/{i}" for i in range(MAX_RECIPIENTS + 1)]), 400),
    case("too-many-bcc", lambda w: w.activity(bcc=[f"{w.alice.id}/f/{i}" for i in range(MAX_RECIPIENTS + 1)]), 400),
    case("too-many-in-object", lambda w: w.activity("Create", object={"id": w.note_id(), "type": "Note", "cc": [PUBLIC] * (MAX_RECIPIENTS + 1)}), 400),
    case("recipients-at-limit", lambda w: w.activity(to=[f"{w.alice.id}/f/{i}" for i in range(MAX_RECIPIENTS)]), 202),
    # JSON-LD: no @context is ever fetched (the listener at context_url must see nothing)
    case("unknown-context-compact", lambda w: w.activity(**{"@context": [AS, w.context_url]}), 202),
    case("unknown-context-only", lambda w: w.activity(**{"@context": w.context_url}), 202),
    case("unknown-context-expanded", lambda w: {"@context": w.context_url, "@id": w.activity()["id"], "@type": f"{AS}#Like", f"{AS}#actor": {"@id": w.alice.id}, f"{AS}#object": {"@id": w.alice.id + "/statuses/1"}}, 202),
    case("unknown-context-prefixed", lambda w: {**w.activity(**{"@context": [AS, w.context_url]}), "as:summary": "x"}, 202),
    case("context-import", lambda w: {**w.activity(**{"@context": [AS, {"@import": w.context_url, "x": "http://x/"}]}), "as:summary": "x"}, 202),
    case("context-scoped-remote", lambda w: {**w.activity(**{"@context": [AS, {"thing": {"@id": "http://x/thing", "@context": w.context_url}}]}), "thing": {"a": 1}, "as:summary": "x"}, 400),
    case("context-in-object", lambda w: {**w.activity(object={"@context": w.context_url, "id": w.alice.id + "/statuses/1", "type": "Note"}), "as:summary": "x"}, 400),
    case("context-protected-redefine", lambda w: {**w.activity(**{"@context": [AS, {"id": "http://evil/id", "actor": "http://evil/actor"}]}), "as:summary": "x"}, 400),
    case("jsonld-expanded-200kb", lambda w: {**w.activity(to=[f"{w.alice.id}/f/{i}" for i in range(MAX_RECIPIENTS)]), "as:summary": "x" * 120_000}, 413),
    case("jsonld-prefixed-60kb", lambda w: {**w.activity(), "as:summary": "x" * 60_000}, 202),
    # Documents that need pyld are only processed once their signature holds: these would be 400 otherwise.
    case("jsonld-bad-unsigned", lambda w: Sent(json.dumps({"@context": {"@version": 9}, "@id": w.activity()["id"]}).encode(), None), 401),
    case("jsonld-bad-forged", lambda w: Sent(json.dumps({"@context": {"@version": 9}, "@id": w.activity()["id"]}).encode(), FakeActor("x", w.alice.id, w.alice.key_id, w.bob.private_pem, "", {})), 401),
    case("jsonld-bad-signed", lambda w: {"@context": {"@version": 9}, "@id": w.activity()["id"]}, 400),
    case("jsonld-graph-of-two", lambda w: {"@context": AS, "@graph": [w.activity(), w.activity(by=w.bob)]}, 400),
    case("jsonld-expanded-list", lambda w: [{"@id": w.activity()["id"], "@type": [f"{AS}#Like"], f"{AS}#actor": [{"@id": w.alice.id}]}, {"@id": "http://x/2"}], 202),
    case("jsonld-expanded-two-nodes", lambda w: [{"@id": w.activity()["id"], "@type": [f"{AS}#Like"], f"{AS}#actor": [{"@id": w.alice.id}]}, {"@id": w.activity()["id"], "@type": [f"{AS}#Follow"], f"{AS}#actor": [{"@id": w.alice.id}]}], 400),
    # remote HTML
    *(case(f"html-{i}", lambda w, h=h: w.reply(h), 202, may_change=("comments",), check=sanitised_reply) for i, h in enumerate(HOSTILE_HTML)),
    case("html-entity-encoded-controls", lambda w: w.reply("<p>a&#x202e;b&#0;c&#x200b;d&#8238;e&#x7f;f&#x2066;g</p>"), 202, may_change=("comments",)),
    case("html-in-content-map", lambda w: w.reply(None, contentMap={"en": HOSTILE_HTML[0] + HOSTILE_HTML[3]}), 202, may_change=("comments",), check=sanitised_reply),
    case("html-all-at-once", lambda w: w.reply("".join(HOSTILE_HTML)), 202, may_change=("comments",), check=sanitised_reply),
    case("reply-by-other-author", lambda w: w.reply("<p>mine</p>", attributedTo=w.bob.id), 202),
]  # fmt: skip

RESULTS: dict[str, int] = {}
COMMENT_AUTHOR, COMMENT_CONTENT = (
    3,
    4,
)  # columns of a comments row: id, object_id, campaign_id, author, content

SHARED_LOOP = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory, test_keys):
    """One server, one Mastodon-shaped peer with alice and bob, a public campaign and a signed-in organizer,
    shared by the whole corpus (each case compares the database before and after itself)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    config = await datadir.create(
        tmp_path_factory.mktemp("hostile") / "server",
        f"http://127.0.0.1:{port}",
        "Group A",
        handle="water",
        keys=(key_pair(test_keys, "server-a-group"), key_pair(test_keys, "server-a-instance")),
        queue_poll_seconds=0.1,
        delivery_retry_seconds=0.2,
    )
    server = await RunningServer(config=config, port=port).start(sock)
    peer = await FakeMastodon(keys=test_keys).start()
    context = ContextListener()
    await context.start()
    alice = peer.add_actor("alice", "peer-1")
    bob = peer.add_actor("bob", "peer-2")
    # Actors whose own documents carry hostile URLs.
    peer.add_actor("mallory", "peer-3").document["inbox"] = "javascript:alert(1)"
    dave = peer.add_actor("dave", "peer-4")
    dave.document["endpoints"] = {"sharedInbox": "data:text/html,<script>alert(1)</script>"}
    dave.document["url"] = "javascript:alert(1)"
    runtime = server.runtime
    campaign_id = await actions.create_campaign(runtime, "Crossing", "Paint it", visibility="public")
    w = World(
        server, peer, alice, bob, campaign_id, server.url(f"/campaigns/{campaign_id}"),
        server.url("/groups/water/inbox"), context.url + "/ns/evil.jsonld", context_requests=context.seen,
    )  # fmt: skip
    await actions.add_member(runtime, "Olu Organizer", "organizer", None, passwords.hash_password(PASSWORD))
    w.organizer = WebClient(server.base_url)
    await w.organizer.sign_in("Olu Organizer", PASSWORD)
    # Both actors' keys are fetched and cached first, so a refused request has nothing left to cache.
    for actor in (alice, bob):
        warm = w.activity(by=actor)
        assert (await peer.post(actor, w.inbox, warm))[0] == 202
        await eventually(lambda a=warm: processed(server, a["id"]))
    yield w
    print_corpus_figures()
    await w.organizer.close()
    await context.stop()
    await peer.stop()
    await server.stop()
    assert context.seen == [], "a JSON-LD context was fetched"


def print_corpus_figures() -> None:
    """The corpus's figures (pytest -s), printed when the module's world is torn down."""
    refused = Counter(s for s in RESULTS.values() if s >= 400)
    accepted = sum(1 for s in RESULTS.values() if s == 202)
    print(
        f"\nhostile corpus: {len(RESULTS)} requests ({len(CORPUS)} own cases + {len(ODD)} odd fixtures); "
        f"refused {sum(refused.values())} ({', '.join(f'{k}: {v}' for k, v in sorted(refused.items()))}); "
        f"accepted harmless (202) {accepted}; 5xx {sum(1 for s in RESULTS.values() if s >= 500)}"
    )


class ContextListener:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        async def handle(request: web.Request) -> web.Response:
            self.seen.append(request.path)
            return web.json_response({"@context": {"id": "@id", "actor": "http://evil/actor"}})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def processed(server, activity_id: str) -> bool:
    state = await server.runtime.db.scalar("SELECT state FROM inbox_activities WHERE id = ?", (activity_id,))
    return state in ("done", "failed")


async def drained(server) -> bool:
    """Nothing left to process, and the scheduler (woken a moment after totals change) at rest."""
    db = server.runtime.db
    pending = await db.scalar("SELECT COUNT(*) FROM inbox_activities WHERE state = 'pending'")
    scheduler = server.runtime.scheduler
    return pending == 0 and (scheduler is None or scheduler.at_rest)


def changed_tables(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> dict[str, Any]:
    return {t: (len(before.get(t, [])), len(rows)) for t, rows in after.items() if before.get(t) != rows}


async def send(world: World, sent: Sent) -> tuple[int, str, dict[str, str]]:
    if sent.signer is None:
        headers = {"Content-Type": "application/activity+json"}
    else:
        headers = cavage_sign("POST", world.inbox, sent.body, sent.signer.key_id, sent.signer.private_pem,
                              **sent.sign_options)  # fmt: skip
    headers.update(sent.extra_headers)
    data: Any = sent.body
    if sent.chunked:
        view = memoryview(sent.body)

        async def stream():
            for start in range(0, len(view), 256 * 1024):
                yield view[start : start + 256 * 1024]

        data = stream()
    async with aiohttp.ClientSession() as session:
        async with session.post(world.inbox, data=data, headers=headers) as response:
            return response.status, await response.text(), dict(response.headers)


def as_sent(world: World, built: Sent | dict[str, Any] | bytes | list) -> Sent:
    if isinstance(built, Sent):
        return built
    body = built if isinstance(built, bytes) else json.dumps(built).encode()
    return Sent(body, world.alice)


@SHARED_LOOP
@pytest.mark.parametrize("hostile", CORPUS, ids=[c.name for c in CORPUS])
async def test_hostile_request(world, hostile: Case):
    server = world.server
    sent = as_sent(world, hostile.build(world))
    await eventually(lambda: drained(server))
    before = await database_snapshot(server.runtime)
    compactions_before = jsonld.compactions
    if hostile.name in ("body-10mb-chunked", "gzip-bomb", "deflate-bomb"):
        # The server must stop reading at its limit: far less than the 10 MB on the wire is ever held.
        tracemalloc.start()
        try:
            status, text, _ = await send(world, sent)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 16 * 1024 * 1024, f"peak {peak} bytes while refusing {hostile.name}"
        print(f"{hostile.name}: peak {peak / 1e6:.1f} MB traced while refusing", end=" ")
    else:
        status, text, _ = await send(world, sent)
    RESULTS[hostile.name] = status
    assert status < 500, f"{hostile.name}: {status} {text!r}"
    assert status == hostile.expect, f"{hostile.name}: {status} {text!r}"
    # The one costly step (milliseconds a document) is paid at most once a request, whatever it holds.
    assert jsonld.compactions - compactions_before <= 1, f"{hostile.name} was compacted more than once"
    assert world.context_requests == [], "a JSON-LD context was fetched"
    if status >= 400:
        await writes_settled(server.runtime)
        after = await database_snapshot(server.runtime)
        assert changed_tables(before, after) == {}, f"{hostile.name} left rows behind"
        return
    doc = json.loads(sent.body)
    doc = doc[0] if isinstance(doc, list) else doc
    activity_id = doc.get("id") or doc["@id"]
    await eventually(lambda: processed(server, activity_id))
    state, error = await server.runtime.db.fetchone(
        "SELECT state, error FROM inbox_activities WHERE id = ?", (activity_id,)
    )
    assert (state, error) == ("done", None), f"{hostile.name}: processing {state} {error}"
    await eventually(lambda: drained(server))
    after = await database_snapshot(server.runtime)
    changed = changed_tables(before, after)
    assert set(changed) <= hostile.may_change, f"{hostile.name} changed {changed}"
    added = [row for row in after["comments"] if row not in before["comments"]]
    if hostile.check is not None:
        await hostile.check(world, added)
    elif added:
        await sanitised_reply(world, added)


# -- the shared odd fixtures, with the whole database compared ----------------------------------------------

ODD = sorted(p.name for p in (FIXTURES / "odd").glob("*.json"))


@SHARED_LOOP
@pytest.mark.parametrize("name", ODD)
async def test_odd_fixture_leaves_no_trace_when_refused(world, name):
    server = world.server
    fixtures = await FixtureWorld(server.base_url).start()
    try:
        doc = fixtures.load(f"odd/{name}")
        signer = doc["actor"].replace("/users/bob", "/users/alice") if "mismatch" in name else None
        await eventually(lambda: drained(server))
        before = await database_snapshot(server.runtime)
        status, text = await fixtures.post(doc, world.inbox, signed_by=signer)
        RESULTS[f"odd/{name}"] = status
        assert status < 500 and status in (202, 400, 403, 413), f"{name}: {status} {text}"
        after = await database_snapshot(server.runtime)
        if status >= 400:
            changed = changed_tables(before, after)
            # The signer's key is fetched and cached before the document is judged (the 403).
            assert set(changed) <= ({"remote_actors"} if status == 403 else set()), f"{name}: {changed}"
        else:
            await eventually(lambda: processed(server, doc["id"]))
            for (content,) in await server.runtime.db.fetchall("SELECT content FROM comments"):
                for bad in FORBIDDEN:
                    assert bad not in content.lower()
    finally:
        await fixtures.stop()
