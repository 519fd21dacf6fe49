"""The group's profile: the admins' settings page (name, summary, avatar), and the avatar as we serve it."""

from __future__ import annotations

from aiohttp import web

from fedgroup import actions, store
from fedgroup.rules import avatars, timezones
from fedgroup.ui.common import field_errors, form, render, require_admin, runtime_of, see_other, text_field
from fedgroup.ui.languages import group_default

# Served under a name that is its digest: a new avatar gets a new URL, so this one never changes.
AVATAR_CACHE = "public, max-age=31536000, immutable"


async def settings_page(
    request: web.Request, errors: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    require_admin(request)
    site = runtime_of(request).site
    values = {
        "name": site.name,
        "summary": site.summary,
        "timezone": site.timezone,
        "language": group_default(request),
    }
    if errors:
        data = await request.post()
        values = {
            "name": text_field(data, "name", 200),
            "summary": text_field(data, "summary", 4000),
            "timezone": text_field(data, "timezone", 100),
            "language": text_field(data, "language", 20),
        }
    return render(
        request,
        "admin/group.html",
        {
            "values": values,
            "errors": errors or {},
            "max_avatar_kib": avatars.MAX_AVATAR_BYTES // 1024,
            "timezones": timezones.names(),
        },
        status=status,
    )


async def save_settings(request: web.Request) -> web.Response:
    require_admin(request)
    data = await form(request)
    upload = data.get("avatar")
    avatar: bytes | None = None
    # A file field left empty arrives as a file with no name and no bytes: keep the avatar then.
    if isinstance(upload, web.FileField) and upload.filename:
        avatar = upload.file.read(avatars.MAX_AVATAR_BYTES + 1)
    language = text_field(data, "language", 20) or None
    try:
        await actions.update_group_profile(
            runtime_of(request),
            name=text_field(data, "name", 200),
            summary=text_field(data, "summary", 4000),
            avatar=avatar,
            timezone=text_field(data, "timezone", 100) or None,
            # Kept only when it changes what the group speaks: config.toml's default_language stays in charge
            # for as long as the admins leave the choice as it is.
            language=language if language != group_default(request) else None,
        )
    except actions.USER_ERRORS as e:
        return await settings_page(request, field_errors(e, "name"), status=422)
    raise see_other("/admin/group", "saved")


async def avatar(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    found = await runtime.db.read(store.site.avatar, request.match_info["digest"])
    if found is None:
        raise web.HTTPNotFound(text="no such image\n")
    media_type, data = found
    # The content type is the one we recognised from the bytes when they were stored, never a client's.
    return web.Response(body=data, content_type=media_type, headers={"Cache-Control": AVATAR_CACHE})


async def dismiss_first_steps(request: web.Request) -> web.Response:
    """An admin hides the first steps on /home, for every admin and every later session."""
    require_admin(request)
    await form(request)
    await actions.dismiss_first_steps(runtime_of(request))
    raise see_other("/home", "first-steps-hidden")
