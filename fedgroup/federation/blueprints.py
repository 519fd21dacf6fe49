"""The blueprint's ActivityPub document (JSON only; app.py pairs it with the HTML page at the same URL).

Authorized fetch as for campaigns: a signed GET; followers-only blueprints only to accepted followers (or
their server's instance actor)."""

from __future__ import annotations

import logging

from aiohttp import web

from fedgroup import store
from fedgroup.actions import blueprints as blueprint_actions
from fedgroup.actions.campaigns import group_language
from fedgroup.federation.routes import _refuse, _signer, activity_response, may_see_followers_only
from fedgroup.net.verification import AuthError
from fedgroup.protocol import blueprints as blueprint_docs
from fedgroup.protocol.ids import BLUEPRINT_PATH
from fedgroup.runtime import RUNTIME

log = logging.getLogger(__name__)

__all__ = ["BLUEPRINT_PATH", "blueprint"]


async def blueprint(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    row = await runtime.db.read(store.blueprints.get, int(request.match_info["blueprint_id"]))
    if row is None:
        return _refuse(404, "no such blueprint")
    try:
        signer = await _signer(runtime, request)
    except AuthError as e:
        log.info("object fetch rejected reason=%s path=%s", e.reason, request.path)
        return e.response()
    if row.visibility == "followers" and not await may_see_followers_only(runtime, signer):
        return _refuse(403, "followers only")
    facts = blueprint_actions.facts_of(row)
    language = group_language(runtime)
    return activity_response(blueprint_docs.blueprint_article(runtime.ids, facts, language))
