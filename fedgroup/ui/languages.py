"""Which language a page speaks, and the templates' gettext: a member's own setting (Account), then the
language a visitor chose with the switch at the foot of every page (a cookie), then the browser's
Accept-Language, then the group's default (group settings, or `default_language` in config.toml).

Templates mark text with `{% trans %}…{% endtrans %}` and `_("…")` (jinja2's i18n extension, new style:
`_("%(n)s left", n=3)`), read through the request's language, `lang` in every template's context.
"""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from fedgroup.rules import formats, languages
from fedgroup.rules.languages import Language
from fedgroup.runtime import RUNTIME
from fedgroup.ui.sessions import MEMBER, read_cookie, safe_next, set_cookie

LANGUAGE_COOKIE = "fedgroup_language"
LANGUAGE: web.RequestKey[Language] = web.RequestKey("language")
# A year: a visitor's choice is kept like a preference, not like a session.
COOKIE_SECONDS = 365 * 24 * 3600


def group_default(request: web.Request) -> str:
    """The group's language: as set on the group settings page, else config.toml's default_language."""
    runtime = request.app[RUNTIME]
    return runtime.site.language or runtime.config.default_language


def language_of(request: web.Request) -> Language:
    """The language of this request's pages (chosen once per request)."""
    found = request.get(LANGUAGE)
    if found is None:
        member = request.get(MEMBER)
        code = languages.choose(
            member.language if member is not None else None,
            read_cookie(request, LANGUAGE_COOKIE),
            request.headers.get("Accept-Language", ""),
            group_default(request),
        )
        found = request[LANGUAGE] = languages.language(code)
    return found


async def switch_language(request: web.Request) -> web.Response:
    """The switch at the foot of each page (a GET form, so that it works without JavaScript and on pages kept
    for every visitor): remembers the choice in a cookie and goes back to the page."""
    code = request.query.get("language", "")
    back = safe_next(request.query.get("next", "/"), "/")
    response = web.HTTPSeeOther(back)
    if code in languages.LANGUAGES:
        set_cookie(request, response, LANGUAGE_COOKIE, code, max_age=COOKIE_SECONDS)
    raise response


@jinja2.pass_context
def _gettext(context: Any, message: str) -> str:
    return str(context["lang"].translations.gettext(message))


@jinja2.pass_context
def _ngettext(context: Any, singular: str, plural: str, count: int) -> str:
    return str(context["lang"].translations.ngettext(singular, plural, count))


@jinja2.pass_context
def _translated(context: Any, message: Any) -> str:
    """A message made elsewhere (an error from rules/ or actions/, marked there with N_): the catalogue's
    words when it has them (a rules.languages.Message with its values), the message as it is otherwise. Plain text, escaped as
    any value is: unlike `_()`, nothing here is taken as markup or as a format string."""
    return str(context["lang"].translate(message if isinstance(message, str) else str(message)))


@jinja2.pass_context
def _sentence(context: Any, message: Any) -> str:
    """A form's message in one style on every page: `{{ message|translated|sentence }}`."""
    return formats.sentence(str(message), context["lang"])


@jinja2.pass_context
def _local_time(context: Any, moment: Any, zone_name: str) -> str:
    return formats.moment(moment, zone_name, context["lang"])


@jinja2.pass_context
def _day(context: Any, moment: Any) -> str:
    return formats.day(moment, context["lang"])


@jinja2.pass_context
def _number(context: Any, amount: Any) -> str:
    return formats.number(amount, context["lang"])


def install(env: jinja2.Environment) -> None:
    """gettext for the templates, and the filters that format for the page's language:
    `{{ moment|local_time(site.timezone) }}`, `{{ day|day }}`, `{{ n|number }}`."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["translated"] = _translated
    env.filters["sentence"] = _sentence
    env.filters["local_time"] = _local_time
    env.filters["day"] = _day
    env.filters["number"] = _number
    env.globals["languages"] = languages.available()
