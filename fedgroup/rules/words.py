"""Words that count things, in their plural form: "1 photo", "2 photos", "1 person pledged".

The form is chosen by gettext's plural rules through `ngettext` (the standard library's translations: English
until catalogues are installed), so that counted phrases are ready for languages: a catalogue brings its own
rules (Polish has three forms, Arabic six) and the calls stay as they are. Babel finds the phrases by the
`ngettext` keyword. `%(num)s` in a phrase is replaced by the number, as jinja2's newstyle gettext does.
"""

from __future__ import annotations

import gettext
from decimal import Decimal

_translations: gettext.NullTranslations = gettext.NullTranslations()


def _rule_number(n: int | Decimal) -> int:
    """What the plural rules are given: a fraction takes the form of "many" (1.5 hours), as in English."""
    return int(n) if n == int(n) else 2


def ngettext(singular: str, plural: str, n: int | Decimal, num: str | None = None) -> str:
    """The phrase for `n`, with %(num)s replaced by `num` (the number as people read it) or else `n`."""
    return _translations.ngettext(singular, plural, _rule_number(n)) % {"num": num if num is not None else n}


# English plurals of a group's own units (typed by organizers, in the plural: "photos", "bags of rice").
_ES_ENDINGS = ("ches", "shes", "sses", "xes", "zes")


def _singular_word(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(_ES_ENDINGS):
        return word[:-2]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def singular_unit(unit: str) -> str:
    """The singular of an organizer's unit: "photos" → "photo", "bags of rice" → "bag of rice" (the word
    before "of" is the counted one), "boxes" → "box". A unit already singular ("kg") stays."""
    words = unit.split(" ")
    at = words.index("of") - 1 if "of" in words[1:] else len(words) - 1
    words[at] = _singular_word(words[at])
    return " ".join(words)
