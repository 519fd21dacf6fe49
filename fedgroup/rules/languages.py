"""The languages fedgroup speaks: which ones ship, how one is chosen from what a browser asks for, and each
one's gettext catalogue (fedgroup/locale/<code>/LC_MESSAGES/messages.mo, compiled from the .po beside it).

Pure in the way rules/timezones.py is: the only files read are data bundled with the package (our compiled
catalogues, and Babel's CLDR data for plural rules and text direction), never anything a person or a peer
sends. How to mark, extract, translate and compile a string: README.md, "Languages".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, negotiate_locale
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
# Every language with a shipped catalogue, in the order the language switch lists them.
LANGUAGES = ("en", "es", "fr", "pt", "hi", "ar")
# Whose conventions a language's numbers and dates follow, where CLDR's default for it is a country's: English
# as written internationally (1 November 2026, 18:00), not the United States' (November 1, 2026, 6:00 PM).
FORMAT_LOCALES = {"en": "en_001"}
# The environment variables a gettext program reads for the language of its messages, in the order it reads
# them (Python's gettext.find and GNU gettext alike): the first one set decides.
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined (a table of notices, say); it is translated where
    it is shown, with the reader's language."""
    return message


class Message(str):
    """A message with values in it, reading as made in English wherever a plain string goes (logs, federation,
    tests), that keeps its catalogue id and values so that a page or the CLI can show it in another language:
    `CampaignError(Message(N_("the title is longer than %(limit)s characters"), limit=200), "title")`."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, **values: Any) -> Message:
        made = super().__new__(cls, msgid % values)
        made.msgid = msgid
        made.values = values
        return made


def message_of(error: BaseException) -> str:
    """An error's message as it was raised: a Message keeps its id and values (str(error) would not)."""
    first = error.args[0] if error.args else ""
    return first if isinstance(first, str) else str(error)


class LanguageError(ValueError):
    """A language code we do not ship; `field` names the form field."""

    def __init__(self, message: str, field: str = "language") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Language:
    """One shipped language: its code (BCP 47, as in `lang` and `contentMap`), CLDR locale and catalogue."""

    code: str
    locale: Locale
    translations: NullTranslations

    @property
    def direction(self) -> str:
        """ "rtl" or "ltr": the `dir` of a page in this language."""
        return "rtl" if self.locale.character_order == "right-to-left" else "ltr"

    @property
    def is_source(self) -> bool:
        """Whether this is the language our messages are written in (English): where federated text says fixed
        words, it keeps them byte for byte as they always were in it (a changed `content` reads as an edit on
        several servers), and only other languages take the translated sentences."""
        return self.code == SOURCE_LANGUAGE

    @property
    def name(self) -> str:
        """The language's name in itself (español, العربية): how a switch offers it to those who read it."""
        return str(self.locale.languages.get(self.locale.language, self.code))

    def gettext(self, message: str, **values: Any) -> str:
        """`message` in this language, with `%(name)s` placeholders filled from `values`."""
        text = self.translations.gettext(message)
        return text % values if values else text

    def pgettext(self, context: str, message: str, **values: Any) -> str:
        """`message` as meant in `context`: one English word with two meanings gets two catalogue entries
        (a proposal's "Block", a formal objection, is not the moderation button's "Block")."""
        text = str(self.translations.pgettext(context, message))
        return text % values if values else text

    def translate(self, message: str) -> str:
        """A message made elsewhere (an error) in this language: a Message with its values, a plain one as the
        catalogue has it; either as it is when the catalogue does not have it."""
        if isinstance(message, Message):
            return self.gettext(message.msgid, **message.values)
        return str(self.translations.gettext(message))

    def ngettext(self, singular: str, plural: str, count: int, **values: Any) -> str:
        """The form of the message for `count` (the catalogue knows the language's plural rules); `%(num)s`
        is `count`, and other placeholders come from `values`."""
        text = self.translations.ngettext(singular, plural, count)
        return text % {"num": count, **values}


def check(code: str) -> str:
    """`code` if we ship it; LanguageError otherwise."""
    if code not in LANGUAGES:
        raise LanguageError(
            Message(
                N_("%(code)r is not a language we ship (one of %(codes)s)"),
                code=code[:20],
                codes=", ".join(LANGUAGES),
            )
        )
    return code


@cache
def language(code: str) -> Language:
    """The shipped language `code` with its catalogue (English reads the source strings themselves)."""
    check(code)
    locale = Locale.parse(FORMAT_LOCALES.get(code, code))
    if code == SOURCE_LANGUAGE:
        return Language(code, locale, NullTranslations())
    translations = Translations.load(str(LOCALE_DIR), [code], DOMAIN)
    if not isinstance(translations, Translations):
        raise LanguageError(
            f"the {code} catalogue is missing from {LOCALE_DIR.name}/ (compile the .po files)"
        )
    return Language(code, locale, translations)


def available() -> tuple[Language, ...]:
    return tuple(language(code) for code in LANGUAGES)


def from_accept_language(header: str) -> str | None:
    """The shipped language a browser's Accept-Language prefers most, if any: "pt-BR,pt;q=0.9,en;q=0.5" is
    "pt"; "de-CH" alone is None. Quality values order the list; q=0 refuses a language."""
    wanted = []
    for position, part in enumerate(header.split(",")[:30]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        tag = tag.strip()
        if tag and tag != "*" and quality > 0:
            wanted.append((-quality, position, tag.replace("_", "-")))
    preferred = [tag for _, _, tag in sorted(wanted)]
    return negotiate_locale(preferred, list(LANGUAGES), sep="-") or _by_primary_subtag(preferred)


def _by_primary_subtag(preferred: Iterable[str]) -> str | None:
    """pt-BR, es-419, fr-CA, ar-EG, hi-Latn...: the language without its region or script."""
    for tag in preferred:
        primary = tag.split("-", 1)[0].lower()
        if primary in LANGUAGES:
            return primary
    return None


def best_match(available: Iterable[str], wanted: str) -> str | None:
    """Which of the language tags of a document (a `contentMap`'s keys) a reader of `wanted` should read:
    the same tag, else one of the same language ("pt-BR" for "pt", "es" for "es-MX"); None if none."""
    tags = list(available)
    for tag in tags:
        if tag.lower() == wanted.lower():
            return tag
    primary = wanted.split("-", 1)[0].lower()
    for tag in tags:
        if tag.split("-", 1)[0].lower() == primary:
            return tag
    return None


def choose(member_setting: str | None, chosen: str | None, accept_language: str, group_default: str) -> str:
    """The language of a page: the member's own setting, then what the visitor chose with the language
    switch, then the browser's Accept-Language, then the group's default."""
    for code in (member_setting, chosen):
        if code in LANGUAGES:
            return str(code)
    return from_accept_language(accept_language) or (
        group_default if group_default in LANGUAGES else SOURCE_LANGUAGE
    )


def of_locale_environment(environ: Mapping[str, str]) -> str:
    """The shipped language a process's locale asks for, read as gettext programs read it: the first of
    LANGUAGE, LC_ALL, LC_MESSAGES and LANG that is set, whose value may list several ("fr:es", LANGUAGE's
    form); of each, the language part ("es" of "es_ES.UTF-8", "pt" of "pt_BR"). "C", "POSIX" and languages
    we do not ship read English. For what the command line says before a group's data, and so its language,
    is known (`fedgroup --help`, `serve` creating a data directory, `backup`)."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "").strip()
        if not value:
            continue
        for entry in value.split(":"):
            code = entry.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
            if code in LANGUAGES:
                return code
        return SOURCE_LANGUAGE
    return SOURCE_LANGUAGE
