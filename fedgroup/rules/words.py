"""Words of a group's own: the singular of a unit an organizer named ("photos" → "photo").

Counted phrases ("1 person", "2 people") are chosen by the catalogues' plural rules: `Language.ngettext` in
rules/languages.py, `ngettext` in templates (ui/languages.py), each language with its own forms.
"""

from __future__ import annotations

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
