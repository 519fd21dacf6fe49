"""Organizers' forms for coalitions: following and leaving groups, answering partner requests, held
aggregates and follow requests. Every change goes through `actions`, as from the CLI."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from fedgroup import actions
from fedgroup.rules.languages import N_
from fedgroup.ui.common import (
    field_errors,
    form,
    render,
    require_organizer,
    row_id,
    runtime_of,
    see_other,
    text_field,
)
from fedgroup.ui.organize import index


async def follow_group(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    try:
        await actions.follow_group_by_handle(runtime_of(request), text_field(data, "handle", 300))
    except actions.USER_ERRORS as e:
        return await index(request, field_errors(e, "handle"), {"handle": text_field(data, "handle", 300)})
    raise see_other("/organize", "following")


def _leave_summary(pledges: list[actions.PledgeAtStake]) -> dict[str, Any]:
    """Per partner campaign: how many of our members' pledges are withdrawn (or, closed, stay as they are)."""
    campaigns_at_stake: dict[str, dict[str, Any]] = {}
    for stake in pledges:
        entry = campaigns_at_stake.setdefault(stake.where, {"title": stake.where, "frozen": stake.frozen,
                                                            "pledges": 0, "members": set()})  # fmt: skip
        entry["pledges"] += 1
        entry["members"].add(stake.pledge.member_id)
    members = {stake.pledge.member_id for stake in pledges}
    return {"campaigns": list(campaigns_at_stake.values()), "members": len(members)}


async def leave_group(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    group = text_field(data, "group", 2000)
    try:
        if text_field(data, "confirm", 10) != "yes":
            # Nothing is withdrawn before the organizer has read exactly what will be.
            pledges = await actions.coalition_leave(runtime_of(request), group)
            return render(request, "organize/leave.html", {"group": group, **_leave_summary(pledges)})
        await actions.leave_group(runtime_of(request), group)
    except actions.USER_ERRORS as e:
        return await index(request, field_errors(e, "handle"), {})
    raise see_other("/organize", "left")


async def answer_partner(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    accept = text_field(data, "answer", 10) == "accept"
    try:
        if accept:
            await actions.accept_partner(runtime_of(request), text_field(data, "actor", 2000))
        else:
            await actions.reject_partner(runtime_of(request), text_field(data, "actor", 2000))
    except actions.USER_ERRORS as e:
        return await index(request, {"partners": str(e)}, {})
    raise see_other("/organize", "partner-accepted" if accept else "partner-rejected")


async def answer_held(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    approve = text_field(data, "answer", 10) == "approve"
    held = text_field(data, "held", 20)
    held_id = row_id(held)
    if held_id is None:
        return await index(request, {"partners": N_("there is no such held aggregate")}, {})
    try:
        await actions.answer_held_aggregate(runtime_of(request), held_id, approve)
    except actions.USER_ERRORS as e:
        return await index(request, {"partners": str(e)}, {})
    raise see_other("/organize", "held-approved" if approve else "held-rejected")


async def answer_follower(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    try:
        await actions.answer_follower(
            runtime_of(request), text_field(data, "actor", 2000), text_field(data, "answer", 10) == "approve"
        )
    except actions.USER_ERRORS as e:
        return await index(request, {"followers": str(e)}, {})
    raise see_other("/organize", "saved")
