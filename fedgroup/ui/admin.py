"""Admins' page: members, their roles, invitations, and removing a member with all their data."""

from __future__ import annotations

from aiohttp import web

from fedgroup import actions, store
from fedgroup.rules.languages import N_
from fedgroup.ui.common import (
    field_errors,
    form,
    render,
    requested_page,
    require_admin,
    row_id,
    runtime_of,
    see_other,
    text_field,
)


async def members_page(
    request: web.Request,
    errors: dict[str, str] | None = None,
    invite: str | None = None,
    status: int = 200,
    invite_role: str | None = None,
) -> web.Response:
    require_admin(request)
    runtime = runtime_of(request)
    page = requested_page(request, await runtime.db.read(store.members.count))
    return render(
        request,
        "admin/members.html",
        {
            "members": await runtime.db.read(store.members.listing, page.size, page.offset),
            "page": page,
            "roles": store.members.ROLES,
            "invite": invite,
            "invite_role": invite_role,
            # The role the invitation form starts on (a link such as the first steps' may choose it).
            "chosen_role": invite_role or request.query.get("role", "member"),
            "open_invites": await runtime.db.read(store.sessions.open_invites, runtime.now()),
            "invite_hours": actions.INVITE_HOURS,
            "two_factor": await runtime.db.read(store.two_factor.enrolled_ids),
            "two_factor_required": await runtime.db.read(store.two_factor.required),
            "errors": errors or {},
        },
        status=status,
    )


def _member_id(data) -> int:  # type: ignore[no-untyped-def]
    try:
        return int(text_field(data, "member", 20))
    except ValueError as e:
        raise actions.ActionError(N_("there is no such member"), "member") from e


async def set_role(request: web.Request) -> web.Response:
    require_admin(request)
    data = await form(request)
    try:
        await actions.set_role(runtime_of(request), _member_id(data), text_field(data, "role", 20))
    except actions.USER_ERRORS as e:
        return await members_page(request, field_errors(e, "member"), status=422)
    raise see_other("/admin/members", "saved")


async def remove_member(request: web.Request) -> web.Response:
    me = require_admin(request)
    data = await form(request)
    try:
        member_id = _member_id(data)
        if member_id == me.id:
            raise actions.ActionError(N_("you cannot remove yourself here"), "member")
        if text_field(data, "confirm", 10) != "yes":
            # Nothing is erased before the admin has read exactly what will be.
            member, pledges = await actions.member_removal(runtime_of(request), member_id)
            return render(request, "admin/remove.html", {"member": member, "pledges": pledges})
        await actions.remove_member(runtime_of(request), member_id)
    except actions.USER_ERRORS as e:
        return await members_page(request, field_errors(e, "member"), status=422)
    raise see_other("/admin/members", "removed")


async def invite(request: web.Request) -> web.Response:
    require_admin(request)
    data = await form(request)
    role = text_field(data, "role", 20) or "member"
    try:
        url = await actions.create_invite(runtime_of(request), role)
    except actions.USER_ERRORS as e:
        return await members_page(request, field_errors(e, "role"), status=422)
    # Shown once, on this page: the link is the only copy of the token.
    return await members_page(request, invite=url, invite_role=role)


async def revoke_invite(request: web.Request) -> web.Response:
    require_admin(request)
    data = await form(request)
    try:
        try:
            invite_id = int(text_field(data, "invite", 20))
        except ValueError as e:
            raise actions.ActionError(N_("there is no such invitation"), "invite") from e
        await actions.revoke_invite(runtime_of(request), invite_id)
    except actions.USER_ERRORS as e:
        return await members_page(request, field_errors(e, "invite"), status=422)
    raise see_other("/admin/members", "revoked")


async def queues_page(request: web.Request) -> web.Response:
    """The server's health (stalled queues, last backup, disk) and the inbox and delivery queues: pending,
    retrying, given up; given-up items can be put back."""
    require_admin(request)
    runtime = runtime_of(request)
    health = await actions.health(runtime)
    return render(
        request,
        "admin/queues.html",
        {
            "health": health,
            "config_stall_minutes": f"{runtime.config.stall_minutes:g}",
            "inbox": health.inbox,
            "deliveries": health.deliveries,
            "given_up": await runtime.db.read(store.inbox.given_up),
            "given_up_deliveries": await runtime.db.read(store.outbox.given_up),
            "mail": await runtime.db.read(store.mail.counts),
            "mail_failures": await runtime.db.read(store.mail.failures),
        },
    )


async def retry_inbox(request: web.Request) -> web.Response:
    require_admin(request)
    data = await form(request)
    activity_id = text_field(data, "activity", 2000) or None
    runtime = runtime_of(request)
    await runtime.db.write(lambda conn: store.inbox.retry_given_up(conn, activity_id))
    runtime.inbox_due()
    raise see_other("/admin/queues", "retried")


async def retry_deliveries(request: web.Request) -> web.Response:
    """Given-up deliveries back in the queue: one (`delivery`), a host's (`host`), or every one (neither)."""
    require_admin(request)
    data = await form(request)
    runtime = runtime_of(request)
    delivery_text = text_field(data, "delivery", 20)
    host = text_field(data, "host", 300) or None
    delivery_id = row_id(delivery_text)
    if delivery_text and delivery_id is None:
        raise web.HTTPBadRequest(text="not a delivery number")
    await runtime.db.write(store.outbox.retry_given_up, runtime.now(), delivery_id, host)
    runtime.deliveries_queued()
    raise see_other("/admin/queues", "retried")
