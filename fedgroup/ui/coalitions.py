"""Organizers' forms for coalitions: following and leaving groups, answering partner requests, held
aggregates and follow requests. Every change goes through `actions`, as from the CLI."""

from __future__ import annotations

from aiohttp import web

from fedgroup import actions
from fedgroup.ui.common import (
    field_errors,
    form,
    require_organizer,
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


async def leave_group(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    try:
        await actions.leave_group(runtime_of(request), text_field(data, "group", 2000))
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
    if not (held.isascii() and held.isdigit()):
        return await index(request, {"partners": "there is no such held aggregate"}, {})
    try:
        await actions.answer_held_aggregate(runtime_of(request), int(held), approve)
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
