"""A minimal browser for handler tests: a cookie jar, forms posted with their CSRF token, HTML as text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Page:
    status: int
    text: str
    url: str
    headers: Any

    @property
    def csrf(self) -> str:
        found = _CSRF.search(self.text)
        assert found, "the page has a form with a CSRF token"
        return found.group(1)


class WebClient:
    def __init__(self, base_url: str, source_address: str | None = None) -> None:
        self.base_url = base_url
        # source_address: connect from another loopback address (127.0.0.2), to look for it in logs.
        connector = aiohttp.TCPConnector(local_addr=(source_address, 0)) if source_address else None
        # unsafe=True: keep cookies for an IP-address host (127.0.0.1), as a browser does.
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), connector=connector)

    async def close(self) -> None:
        await self.session.close()

    async def get(self, path: str, **options: Any) -> Page:
        async with self.session.get(self.base_url + path, **options) as r:
            return Page(r.status, await r.text(), str(r.url), r.headers)

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]], csrf_from: str | None = None,
                   follow: bool = True) -> Page:  # fmt: skip
        """POST a form; its CSRF token is taken from the page at `csrf_from` (default: `path` itself)."""
        token = (await self.get(csrf_from or path)).csrf
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        fields.append(("csrf", token))
        return await self.post_raw(path, fields, follow=follow)

    async def post_raw(self, path: str, fields: list[tuple[str, str]], follow: bool = True) -> Page:
        async with self.session.post(self.base_url + path, data=fields, allow_redirects=follow) as r:
            return Page(r.status, await r.text(), str(r.url), r.headers)

    async def sign_in(self, name: str, password: str) -> Page:
        page = await self.post("/login", {"name": name, "password": password, "next": "/home"})
        assert page.status == 200 and page.url.endswith("/home"), page.text
        return page
