"""create_app(config): the store, the federation endpoints and the web UI wired into one aiohttp app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from importlib import resources

import aiohttp_jinja2
import jinja2
from aiohttp import hdrs, web
from aiohttp.abc import AbstractResolver

from fedgroup.config import Config
from fedgroup.connections import body_deadline_middleware
from fedgroup.federation import blueprints, discovery, gatherings, routes
from fedgroup.federation.moved import moved_middleware
from fedgroup.runtime import RUNTIME, Clock, Runtime, close_runtime, open_runtime, start_network, system_clock
from fedgroup.ui import blueprint_pages, health, pages, renderings
from fedgroup.ui import gatherings as gathering_pages
from fedgroup.ui import routes as ui_routes
from fedgroup.ui.errors import error_pages_middleware
from fedgroup.ui.languages import language_of
from fedgroup.ui.sessions import SIGN_INS, session_middleware
from fedgroup.ui.sign_ins import SignInGate, SignInRules

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Inbox bodies are capped at 1 MB by the inbox itself; this is the ceiling for anything else.
CLIENT_MAX_SIZE = 1024 * 1024 + 1


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An unexpected exception is a short 500 and a logged traceback, never a traceback to the peer."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("request failed method=%s path=%s", request.method, request.path)
        return web.Response(status=500, text="internal error\n")


@web.middleware
async def fresh_site_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages and the actor show the group's name and avatar as committed, also after a CLI change."""
    if request.method in ("GET", "HEAD") and RUNTIME in request.app and renderings.SHOWN_AT not in request:
        runtime = request.app[RUNTIME]
        await runtime.fresh_site()
        request[renderings.SHOWN_AT] = runtime.page_cache.shown.stamp  # read just now: the pages use it
    return await handler(request)


@web.middleware
async def kept_pages_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The fast lane of the viral hour: a GET from a visitor without a session (no cookie at all) of an address
    whose page is kept for every such visitor (ui/renderings.py) is answered here, as the page handler would
    answer it, without the middlewares below and the handler. Every check that decides what such a visitor is
    shown is made here too, on every request: the database's version read now (a page changed by a commit
    that finished before this request is not served), the site as committed (its language decides the page's
    language), a group that has moved (the old pages redirect), and what the client asked for (servers get
    ActivityStreams). Anything else, or a page not kept, goes the usual way."""
    if request.method != "GET" or hdrs.COOKIE in request.headers or RUNTIME not in request.app:
        return await handler(request)
    runtime = request.app[RUNTIME]
    await runtime.fresh_site()
    request[renderings.SHOWN_AT] = runtime.page_cache.shown.stamp  # just read: nothing below reads it again
    if runtime.site.moved_to is not None or routes.wants_activity_json(request):
        return await handler(request)
    addresses = request.app[renderings.KEPT_ADDRESSES]
    learnt = addresses.by_language(request.raw_path)
    key = learnt.get(language_of(request).code) if learnt is not None else None
    if key is not None:
        body = runtime.page_cache.pages.get(key, runtime.now())
        if body is not None:
            addresses.answered += 1
            return renderings.kept_page_response(request, key, body)
    response = await handler(request)
    kept_as = request.get(renderings.KEPT_AS)
    if kept_as is not None:
        addresses.learn(request.raw_path, language_of(request).code, kept_as)
    return response


# Pages: styles and images from this site only, no scripts at all, forms post only here, never framed.
HTML_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Everything else (JSON, CSV, text, the SVG icon opened on its own): nothing runs, nothing loads.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"


def _harden(request: web.Request, headers: MutableMapping[str, str]) -> None:
    html = headers.get("Content-Type", "").startswith("text/html")
    headers.setdefault("Content-Security-Policy", HTML_POLICY if html else OTHER_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if RUNTIME in request.app and request.app[RUNTIME].config.secure_cookies:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The same protective headers on every answer: pages, documents, files, redirects and errors alike."""
    try:
        response = await handler(request)
    except web.HTTPException as e:
        _harden(request, e.headers)
        raise
    if not response.prepared:
        _harden(request, response.headers)
    return response


def negotiated(json_handler: Handler, html_handler: Handler) -> Handler:
    """One URL, two representations: ActivityStreams for servers, HTML for browsers."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if routes.wants_activity_json(request):
            return await json_handler(request)
        return await html_handler(request)

    return handler


def create_app(
    config: Config,
    *,
    resolver: AbstractResolver | None = None,
    clock: Clock = system_clock,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    deliveries: bool = True,
    background: bool = True,
) -> web.Application:
    """The whole server for one data dir. `resolver`, `clock` and `sleep` (how the server waits, as when it
    slows sign-in attempts down) are seams for tests. Without `deliveries` the app sends nothing itself:
    `serve` runs the delivery worker in a process of its own (cli/delivery_process.py). Without `background`
    the app only answers requests: no inbox processor, scheduler, mail or deliveries (a second serving process
    of `serve --workers N`, cli/workers.py)."""
    body_deadline = body_deadline_middleware(config.body_timeout_seconds, config.body_min_bytes_per_second)
    app = web.Application(
        middlewares=[
            errors_middleware,
            security_headers_middleware,
            kept_pages_middleware,
            body_deadline,
            fresh_site_middleware,
            moved_middleware,
            session_middleware,
            error_pages_middleware,
        ],
        client_max_size=CLIENT_MAX_SIZE,
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        runtime = await open_runtime(config, clock)
        await start_network(runtime, resolver, workers=background, deliveries=deliveries)
        app[RUNTIME] = runtime
        log.info("fedgroup up group=%s base_url=%s", runtime.ids.acct, config.base_url)
        yield
        await close_runtime(runtime)

    app.cleanup_ctx.append(lifecycle)
    app[renderings.KEPT_ADDRESSES] = renderings.KeptAddresses()
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("fedgroup", "web/templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    discovery.add_routes(app)
    shared = routes.add_routes(app)
    app.router.add_get(routes.NEGOTIATED_PATHS["group"], negotiated(shared["group"], pages.group_page))
    app.router.add_get(
        routes.NEGOTIATED_PATHS["campaign"], negotiated(shared["campaign"], pages.campaign_page)
    )
    app[SIGN_INS] = SignInGate(
        SignInRules().shared_by(config.workers), clock=lambda: clock().timestamp(), sleep=sleep
    )
    app.router.add_get(
        blueprints.BLUEPRINT_PATH, negotiated(blueprints.blueprint, blueprint_pages.blueprint_page)
    )
    app.router.add_get(
        gatherings.GATHERING_PATH, negotiated(gatherings.gathering, gathering_pages.gathering_page)
    )
    ui_routes.add_routes(app)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/metrics", health.metrics)
    app.router.add_static("/static", str(resources.files("fedgroup") / "web" / "static"), append_version=True)
    app.router.add_get("/", _home)
    return app


async def _home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(request.app[RUNTIME].ids.group)


__all__ = ["create_app", "Runtime"]
