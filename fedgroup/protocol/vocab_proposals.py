"""A proposal's published outcome: a Note from the group with the decision and its count. Pure.

Only the outcome leaves the server, and only counts: never who took part, never a block's reason (members'
own words stay with the members), never the proposal's text."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fedgroup.protocol.ids import LocalIds
from fedgroup.protocol.vocab import OBJECT_CONTEXT, addressing, paragraphs_html, words_of, xsd_datetime


def decision_note(
    ids: LocalIds,
    proposal_id: int,
    title: str,
    outcome: str,
    count_lines: Sequence[str],
    visibility: str,
    published: datetime,
    language: str | None = None,
) -> dict[str, Any]:
    """The Note, addressed like a campaign of that visibility (public: Public in to, followers in cc;
    followers: followers only). No `name`: several servers show it as a content warning. `language`: the
    group's, which `count_lines` are worded in; its "Decision:" is too, and `contentMap` names it."""
    to, cc = addressing(ids, visibility)
    counts = "".join(f"<p>{html.escape(line)}</p>" for line in count_lines)
    heading = words_of(language).gettext("Decision: %(title)s", title=title)
    content = f"<p><strong>{html.escape(heading)}</strong></p>{paragraphs_html(outcome)}{counts}"
    note: dict[str, Any] = {
        "@context": OBJECT_CONTEXT,
        "id": ids.decision(proposal_id),
        "type": "Note",
        "attributedTo": ids.group,
        "content": content,
        "mediaType": "text/html",
        "published": xsd_datetime(published),
        "to": to,
        "cc": cc,
    }
    if language:
        note["contentMap"] = {language: content}
    return note
