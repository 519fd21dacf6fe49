"""The ActivityPub HTTP endpoints. JSON only: app.py pairs the ones that share a URL with HTML pages.

Authorized fetch: objects and collections answer signed GETs only; the actor document and WebFinger stay
public (unsigned requests get a minimal actor); followers-only objects only reach accepted followers.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from fedgroup import actions, store
from fedgroup.federation import inbox
from fedgroup.net.verification import AuthError, VerifiedSigner, authenticate, is_signed
from fedgroup.protocol import vocab, vocab_campaigns
from fedgroup.protocol.ids import (
    ACTIVITY_PATH,
    CAMPAIGN_PATH,
    DECISION_PATH,
    GROUP_FOLLOWERS_PATH,
    GROUP_FOLLOWING_PATH,
    GROUP_INBOX_PATH,
    GROUP_OUTBOX_PATH,
    INSTANCE_ACTOR_PATH,
    SHARED_INBOX_PATH,
)
from fedgroup.protocol.parse import same_origin
from fedgroup.rules.campaign_state import CampaignState
from fedgroup.runtime import RUNTIME, Runtime

log = logging.getLogger(__name__)

ACTIVITY_JSON = "application/activity+json"
OUTBOX_PAGE_SIZE = 20
_JSON_TYPES = ("application/activity+json", "application/ld+json")


def wants_activity_json(request: web.Request) -> bool:
    """Whether the client asked for ActivityStreams (servers) rather than HTML (browsers)."""
    accept = request.headers.get("Accept", "").lower()
    return any(t in accept for t in _JSON_TYPES)


def activity_response(doc: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps(doc),
        headers={"Content-Type": f"{ACTIVITY_JSON}; charset=utf-8", "Vary": "Accept, Signature"},
    )


def _refuse(status: int, reason: str) -> web.Response:
    return web.Response(status=status, text=f"{reason}\n", headers={"Vary": "Accept, Signature"})


async def _signer(runtime: Runtime, request: web.Request) -> VerifiedSigner:
    """The verified signer of a GET; raises AuthError (401) when unsigned or badly signed."""
    if not is_signed(request):
        raise AuthError(401, "signature-required")
    signer = await authenticate(runtime, request, None)
    if await runtime.is_blocked(signer.actor_id):
        raise AuthError(403, "blocked", signer.key_id)
    return signer


# Types a server's own actor (the "instance actor" that signs its fetches) has: Mastodon's and Akkoma's are
# `Application`, GoToSocial's and others' `Service`.
SERVER_ACTOR_TYPES = ("Application", "Service")


async def is_server_actor_beside(runtime: Runtime, signer: VerifiedSigner, actor_id: str) -> bool:
    """Whether the signer is the server-level actor of the server where `actor_id` lives: an `Application`
    or `Service` actor (by its document, fetched from its own URL) on the same origin. Never a person there."""
    if not same_origin(signer.actor_id, actor_id):
        return False
    assert runtime.actors is not None
    cached = await runtime.actors.cached(signer.actor_id)
    return cached is not None and cached.type in SERVER_ACTOR_TYPES


async def may_see_followers_only(runtime: Runtime, signer: VerifiedSigner) -> bool:
    """Accepted followers, or the server-level actor (instance actor) of a server where one of them lives:
    that server already holds the object through its shared inbox. Other accounts on that server do not."""
    if await runtime.db.read(store.follows.is_accepted_follower, signer.actor_id):
        return True
    origin = signer.actor_id.split("/", 3)
    if len(origin) < 3:
        return False
    if not await runtime.db.read(store.follows.is_follower_on_host, "/".join(origin[:3])):
        return False
    return await is_server_actor_beside(runtime, signer, signer.actor_id)


def _check_handle(runtime: Runtime, request: web.Request) -> None:
    if request.match_info["handle"].lower() != runtime.ids.handle.lower():
        raise web.HTTPNotFound(text="no such group\n")


# -- actors -----------------------------------------------------------------------------------------


async def group_actor(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    _check_handle(runtime, request)
    minimal = True
    if is_signed(request):
        try:
            await authenticate(runtime, request, None)
            minimal = False
        except AuthError as e:
            if not e.unverifiable:
                log.info("actor fetch rejected reason=%s key_id=%s", e.reason, e.key_id)
                return e.response()
            # A signature we cannot check (an unusual key, a key server down) is no reason to hide what an
            # unsigned request gets: the minimal, public actor.
            log.info("actor fetch answered as unsigned reason=%s key_id=%s", e.reason, e.key_id)
    members = None if minimal else await runtime.db.read(store.members.count)
    return activity_response(
        actions.group_actor_document(
            runtime.ids, runtime.site, runtime.config.manually_approves_followers, members, minimal=minimal
        )
    )


async def instance_actor(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    return activity_response(vocab.instance_actor(runtime.ids, runtime.site.instance_public_key))


# -- inboxes ----------------------------------------------------------------------------------------


async def group_inbox(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    _check_handle(runtime, request)
    return await inbox.receive(runtime, request)


async def shared_inbox(request: web.Request) -> web.Response:
    return await inbox.receive(request.app[RUNTIME], request)


# -- collections ------------------------------------------------------------------------------------


async def _authorized_collection(request: web.Request) -> Runtime | web.Response:
    runtime = request.app[RUNTIME]
    _check_handle(runtime, request)
    try:
        await _signer(runtime, request)
    except AuthError as e:
        log.info("collection fetch rejected reason=%s path=%s", e.reason, request.path)
        return e.response()
    return runtime


async def followers(request: web.Request) -> web.Response:
    runtime = await _authorized_collection(request)
    if isinstance(runtime, web.Response):
        return runtime
    total = await runtime.db.read(store.follows.count_followers)
    return activity_response(vocab.collection_summary(runtime.ids.followers, total))


async def following(request: web.Request) -> web.Response:
    runtime = await _authorized_collection(request)
    if isinstance(runtime, web.Response):
        return runtime
    total = await runtime.db.read(store.follows.count_following)
    return activity_response(vocab.collection_summary(runtime.ids.following, total))


async def group_outbox(request: web.Request) -> web.Response:
    runtime = await _authorized_collection(request)
    if isinstance(runtime, web.Response):
        return runtime
    ids = runtime.ids
    if request.query.get("page") != "true":
        total = await runtime.db.read(store.outbox.count_public)
        return activity_response(vocab.outbox_collection(ids.outbox, total))
    before = request.query.get("max_id")
    if request.query.get("min_id") is not None:
        before = "0"  # the last page: nothing is older than the epoch
    items = await runtime.db.read(store.outbox.public_page, before, OUTBOX_PAGE_SIZE)
    next_cursor = store.to_db_time(items[-1].published_at) if len(items) == OUTBOX_PAGE_SIZE else None
    return activity_response(
        vocab.outbox_page(
            ids.outbox,
            [orjson.loads(a.document) for a in items],
            next_cursor,
            f"{ids.outbox}?{request.query_string}",
        )
    )


# -- objects ----------------------------------------------------------------------------------------


async def _visible_campaign(request: web.Request) -> tuple[Runtime, CampaignState] | web.Response:
    """The campaign for a signed GET by someone allowed to see it, or the response that says why not."""
    runtime = request.app[RUNTIME]
    state = await runtime.db.read(actions.load_campaign, int(request.match_info["campaign_id"]))
    if state is None or not state.federates:
        return _refuse(404, "no such campaign")
    if state.row.deleted_at is not None:
        return activity_response(
            vocab.tombstone(runtime.ids.campaign(state.id), "Question", state.row.deleted_at), status=410
        )
    try:
        signer = await _signer(runtime, request)
    except AuthError as e:
        log.info("object fetch rejected reason=%s path=%s", e.reason, request.path)
        return e.response()
    if state.row.visibility == "followers" and not await may_see_followers_only(runtime, signer):
        log.info(
            "object fetch refused reason=not-a-follower signer=%s path=%s", signer.actor_id, request.path
        )
        return _refuse(403, "followers only")
    return runtime, state


async def campaign(request: web.Request) -> web.Response:
    found = await _visible_campaign(request)
    if isinstance(found, web.Response):
        return found
    runtime, state = found
    return activity_response(
        vocab_campaigns.campaign_object(runtime.ids, state, minimum=runtime.config.min_disclosed_count)
    )


async def campaign_outcome(request: web.Request) -> web.Response:
    found = await _visible_campaign(request)
    if isinstance(found, web.Response):
        return found
    runtime, state = found
    if not state.row.outcome or state.row.outcome_at is None:
        return _refuse(404, "no outcome yet")
    summary = await runtime.db.read(actions.outcome_summary, state)
    updated = state.row.updated_at if state.row.reopened_at is not None else None
    note = vocab_campaigns.outcome_note(runtime.ids, state, summary, state.row.outcome_at, updated)
    return activity_response(note)


async def decision(request: web.Request) -> web.Response:
    """A proposal's published outcome (a Note), served as it was sent: to signed GETs, a followers-only one to
    accepted followers. An unpublished proposal does not exist here: proposals never federate."""
    runtime = request.app[RUNTIME]
    found = await actions.proposals.published_decision(runtime, int(request.match_info["proposal_id"]))
    if found is None:
        return _refuse(404, "no such object")
    note, visibility = found
    try:
        signer = await _signer(runtime, request)
    except AuthError as e:
        log.info("object fetch rejected reason=%s path=%s", e.reason, request.path)
        return e.response()
    if visibility == "followers" and not await may_see_followers_only(runtime, signer):
        log.info(
            "object fetch refused reason=not-a-follower signer=%s path=%s", signer.actor_id, request.path
        )
        return _refuse(403, "followers only")
    return activity_response(note)


async def activity(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    activity_id = runtime.ids.activity(request.match_info["activity_id"])
    stored = await runtime.db.read(store.outbox.activity, activity_id)
    if stored is None:
        return _refuse(404, "no such activity")
    try:
        signer = await _signer(runtime, request)
    except AuthError as e:
        log.info("object fetch rejected reason=%s path=%s", e.reason, request.path)
        return e.response()
    doc = orjson.loads(stored.document)
    if stored.visibility == "followers" and not await may_see_followers_only(runtime, signer):
        return _refuse(403, "followers only")
    if stored.visibility == "direct":
        recipients = [r for r in (doc.get("to") or []) if isinstance(r, str)]
        if not await _addressed_to(runtime, signer, recipients):
            return _refuse(404, "no such activity")
    return activity_response(doc)


async def _addressed_to(runtime: Runtime, signer: VerifiedSigner, recipients: list[str]) -> bool:
    """A direct activity reaches its recipients, and the instance actor of a recipient's server (which
    fetches on its users' behalf); never another account there."""
    if signer.actor_id in recipients:
        return True
    for recipient in recipients:
        if await is_server_actor_beside(runtime, signer, recipient):
            return True
    return False


def add_routes(app: web.Application) -> dict[str, Any]:
    """Register the JSON-only endpoints; return the handlers whose URL is shared with an HTML page."""
    app.router.add_get(INSTANCE_ACTOR_PATH, instance_actor)
    app.router.add_post(GROUP_INBOX_PATH, group_inbox)
    app.router.add_post(SHARED_INBOX_PATH, shared_inbox)
    app.router.add_get(GROUP_OUTBOX_PATH, group_outbox)
    app.router.add_get(GROUP_FOLLOWERS_PATH, followers)
    app.router.add_get(GROUP_FOLLOWING_PATH, following)
    app.router.add_get(ACTIVITY_PATH, activity)
    app.router.add_get(CAMPAIGN_PATH + "/outcome", campaign_outcome)
    app.router.add_get(DECISION_PATH, decision)
    return {"group": group_actor, "campaign": campaign}


NEGOTIATED_PATHS = {"group": "/groups/{handle}", "campaign": CAMPAIGN_PATH}
