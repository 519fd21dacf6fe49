"""Reports from other servers (ActivityPub `Flag`) about the group or its campaigns reach our organizers.
(Ours about remote accounts are sent by actions.report_account, signed by the instance actor.)"""

from __future__ import annotations

import logging

from fedgroup import store
from fedgroup.actions.context import Context
from fedgroup.protocol.parse import Activity, ParseError, parse_flag
from fedgroup.rules import sanitize

log = logging.getLogger(__name__)

MAX_COMMENT = 5000
MAX_OBJECTS = 50
MAX_OBJECT_ID = 2000


async def on_flag(runtime: Context, activity: Activity) -> None:
    """A report from another server. Kept when it names something of ours (the group, a campaign, one of
    our activities): that is what our organizers can act on. The comment is kept as plain text."""
    try:
        report = parse_flag(activity)
    except ParseError as e:
        log.info("report dropped reason=%s actor=%s", e.reason, activity.actor)
        return
    objects = [o for o in report.objects[:MAX_OBJECTS] if len(o) <= MAX_OBJECT_ID]
    if not any(runtime.ids.is_local(o) for o in objects):
        log.info("report dropped reason=not-about-us actor=%s", activity.actor)
        return
    comment = sanitize.html_to_text(report.comment, MAX_COMMENT)
    activity_id = activity.id or ""
    added = await runtime.db.write(
        lambda conn: store.reports.add(
            conn, "received", activity_id, activity.actor, objects, comment, runtime.now()
        )
    )
    if added:
        log.info("report received actor=%s objects=%d", activity.actor, len(objects))
