"""Admins' blocklist import: upload a Mastodon domain-block CSV, see what it would block and skip (and why),
then confirm. The preview changes nothing; the confirmation plans the same text again (blocks may have
changed meanwhile) and blocks each new domain as `fedgroup block import` does."""

from __future__ import annotations

from aiohttp import web

from fedgroup import actions
from fedgroup.rules.languages import N_
from fedgroup.ui.common import Routes, form, render, require_admin, runtime_of, see_other, text_field

PAGE = "/admin/blocklist"
# The request limit is 1 MiB; a file's text travels twice (the upload, then the confirmation's hidden field).
MAX_CSV_BYTES = 900 * 1024


def add_routes(routes: Routes) -> None:
    """The admins' blocklist import; each POST is a form route (CSRF and origin checked first)."""
    routes.get(PAGE, upload_page)
    routes.post(PAGE + "/preview", preview)
    routes.post(PAGE + "/import", confirm)


async def upload_page(
    request: web.Request, errors: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    require_admin(request)
    return render(
        request,
        "admin/blocklist.html",
        {"errors": errors or {}, "plan": None, "csv_text": "", "max_kib": MAX_CSV_BYTES // 1024},
        status=status,
    )


def _uploaded_text(upload: object) -> str:
    if not isinstance(upload, web.FileField) or not upload.filename:
        raise actions.ActionError(N_("choose a CSV file to upload"), "file")
    raw = upload.file.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise actions.ActionError(f"the file is larger than {MAX_CSV_BYTES // 1024} KiB", "file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise actions.ActionError(N_("the file is not UTF-8 text"), "file") from e


async def preview(request: web.Request) -> web.Response:
    """What importing the uploaded file would do; nothing is written."""
    require_admin(request)
    data = await form(request)
    try:
        text = _uploaded_text(data.get("file"))
        plan = await actions.plan_blocklist(runtime_of(request), text)
    except actions.USER_ERRORS as e:
        return await upload_page(request, {"file": str(e)}, status=422)
    return render(
        request,
        "admin/blocklist.html",
        {"errors": {}, "plan": plan, "csv_text": text, "max_kib": MAX_CSV_BYTES // 1024},
    )


async def confirm(request: web.Request) -> web.Response:
    require_admin(request)
    data = await form(request)
    runtime = runtime_of(request)
    try:
        plan = await actions.plan_blocklist(runtime, text_field(data, "csv", MAX_CSV_BYTES))
        await actions.import_blocklist(runtime, plan)
    except actions.USER_ERRORS as e:
        return await upload_page(request, {"file": str(e)}, status=422)
    raise see_other("/organize/blocks", "imported")
