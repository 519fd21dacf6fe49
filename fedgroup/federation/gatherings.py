"""A gathering's `Event` document (JSON only; app.py pairs it with the HTML page at the same URL).

Authorized fetch as for campaigns: a signed GET; followers-only gatherings only to accepted followers (or
their server's instance actor); members-only ones do not exist for other servers."""

from __future__ import annotations

import logging

from aiohttp import web

from fedgroup import actions
from fedgroup.federation.routes import _refuse, _signer, activity_response, may_see_followers_only
from fedgroup.net.verification import AuthError
from fedgroup.protocol.ids import GATHERING_PATH
from fedgroup.runtime import RUNTIME

log = logging.getLogger(__name__)

__all__ = ["GATHERING_PATH", "gathering"]


async def gathering(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        gathering_id = int(request.match_info["gathering_id"])
    except ValueError:
        return _refuse(404, "no such gathering")
    state = await runtime.db.read(actions.load_gathering, gathering_id)
    if state is None or not state.row.federates:
        return _refuse(404, "no such gathering")
    try:
        signer = await _signer(runtime, request)
    except AuthError as e:
        log.info("object fetch rejected reason=%s path=%s", e.reason, request.path)
        return e.response()
    if state.row.visibility == "followers" and not await may_see_followers_only(runtime, signer):
        return _refuse(403, "followers only")
    language = actions.group_language(runtime)
    event = actions.event_of(runtime.ids, state, runtime.config.min_disclosed_count, language)
    return activity_response(event)
