"""What people can do with the group, shared by the CLI and the web UI: each action checks its input,
writes in one transaction, and queues what federates in that same transaction."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from fedgroup import store
from fedgroup.activitypub import outbox
from fedgroup.runtime import Runtime

VISIBILITIES = ("public", "followers", "members")
MAX_TITLE = 200
MAX_BODY = 20_000


class ActionError(ValueError):
    """Input a person must correct; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


async def create_campaign(
    runtime: Runtime, title: str, body: str, visibility: str = "public", deadline: datetime | None = None
) -> int:
    title, body = title.strip(), body.strip()
    if not title:
        raise ActionError("a campaign needs a title", "title")
    if len(title) > MAX_TITLE:
        raise ActionError(f"the title is longer than {MAX_TITLE} characters", "title")
    if len(body) > MAX_BODY:
        raise ActionError(f"the text is longer than {MAX_BODY} characters", "body")
    if visibility not in VISIBILITIES:
        raise ActionError(f"visibility must be one of {', '.join(VISIBILITIES)}", "visibility")
    now = runtime.now()

    async def job(conn: aiosqlite.Connection) -> int:
        campaign_id = await store.campaigns.insert(conn, title, body, visibility, deadline, now)
        row = await store.campaigns.get(conn, campaign_id)
        assert row is not None
        await outbox.publish_campaign(conn, runtime.ids, row, now)
        return campaign_id

    campaign_id = await runtime.db.write(job)
    runtime.deliveries_queued()
    return campaign_id
