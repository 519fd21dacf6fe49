"""Share on Mastodon: a plain form on each public campaign's page (no script, nothing loaded from elsewhere)
asks for the visitor's server; we send the browser on to that server's share page, the campaign's title and
address filled in (rules/share.py checks the server's name).

The answer is a page that moves on at once (a meta refresh, with a link for browsers that do not follow it),
not an HTTP redirect: our pages' Content-Security-Policy says `form-action 'self'`, and browsers apply it to
where a form's submission is redirected, so a 303 to another host would be blocked. Leaving the policy as it
is keeps every other form on the site from ever posting elsewhere."""

from __future__ import annotations

import logging

from aiohttp import web

from fedgroup import actions
from fedgroup.rules import share
from fedgroup.ui.common import int_in_path, render, runtime_of

log = logging.getLogger(__name__)


async def share_campaign(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    campaign_id = int_in_path(request, "campaign_id")
    state = await runtime.db.read(actions.load_campaign, campaign_id)
    # Only what anyone may read is shared: followers' and members' campaigns, drafts and deleted ones are not.
    if (
        state is None
        or state.row.visibility != "public"
        or state.row.draft
        or state.row.deleted_at is not None
    ):
        raise web.HTTPNotFound(text="no such campaign\n")
    typed = request.query.get("instance", "")
    try:
        host = share.instance_host(typed)
    except share.ShareError as e:
        log.info("share refused reason=bad-instance campaign=%d", campaign_id)
        values = {"instance": typed[: share.MAX_INPUT]}
        return render(request, "share.html", {"campaign": state.row, "errors": {"instance": str(e)},
                      "values": values}, status=422)  # fmt: skip
    text = share.share_text(state.row.title, runtime.ids.campaign(campaign_id))
    target = share.share_url(host, text)
    return render(request, "share.html", {"campaign": state.row, "target": target, "host": host})
