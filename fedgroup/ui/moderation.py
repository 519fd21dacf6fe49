"""Organizers' blocks page and forms: blocking and unblocking, sending and resolving reports. Every change
goes through `actions`, as from the CLI."""

from __future__ import annotations

from aiohttp import web

from fedgroup import actions, store
from fedgroup.ui.common import (
    field_errors,
    form,
    render,
    require_organizer,
    runtime_of,
    see_other,
    text_field,
)


async def blocks_page(
    request: web.Request,
    errors: dict[str, str] | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> web.Response:
    """Moderation: blocks, reports other servers sent about us, and reports we sent."""
    require_organizer(request)
    db = runtime_of(request).db
    return render(
        request,
        "organize/blocks.html",
        {
            "blocks": await db.read(store.blocks.listing),
            "received": await db.read(store.reports.listing, "received"),
            "sent": await db.read(store.reports.listing, "sent"),
            "errors": errors or {},
            "values": values or {},
        },
        status=status,
    )


async def add_block(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    try:
        await actions.block(runtime_of(request), text_field(data, "target", 2100))
    except actions.USER_ERRORS as e:
        return await blocks_page(request, field_errors(e, "target"), status=422)
    raise see_other("/organize/blocks", "blocked")


async def remove_block(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    try:
        await actions.unblock(runtime_of(request), text_field(data, "target", 2100))
    except actions.USER_ERRORS as e:
        return await blocks_page(request, field_errors(e, "target"), status=422)
    raise see_other("/organize/blocks", "unblocked")


async def send_report(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    values = {name: text_field(data, name, 5000) for name in ("account", "comment", "posts")}
    try:
        await actions.report_account(
            runtime_of(request), values["account"], values["comment"], values["posts"].split()
        )
    except actions.USER_ERRORS as e:
        return await blocks_page(request, field_errors(e, "account"), status=422, values=values)
    raise see_other("/organize/blocks", "report-sent")


async def resolve_report(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    try:
        report_id = int(text_field(data, "report", 20))
        await actions.resolve_report(runtime_of(request), report_id)
    except (ValueError, *actions.USER_ERRORS) as e:
        return await blocks_page(request, {"reports": str(e)}, status=422)
    raise see_other("/organize/blocks", "saved")
