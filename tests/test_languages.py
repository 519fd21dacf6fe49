"""Languages: the catalogues are complete and current, numbers and dates follow each language, and a page's
language is chosen as documented (the member's setting, the visitor's switch, Accept-Language, the group's
default), with `lang` and `dir` on <html>."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages import checkers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from fedgroup import actions, config, store
from fedgroup.rules import formats, languages
from fedgroup.rules.campaigns import parse_goal, parse_option
from fedgroup.rules.passwords import hash_password
from tests.web_client import WebClient

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
TRANSLATED = [code for code in languages.LANGUAGES if code != languages.SOURCE_LANGUAGE]


def catalogue(code: str):  # type: ignore[no-untyped-def]
    path = languages.LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return read_po(f, locale=code)


def message_ids(found) -> set[object]:  # type: ignore[no-untyped-def]
    """Each message's id, with its context when it has one (a proposal's "Block" is not the button's)."""
    return {m.id if m.context is None else (m.context, m.id) for m in found if m.id}


# -- the catalogues -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[object]:
    """What `pybabel extract` finds in the code and templates now (README.md, "Languages")."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "--no-location",
         "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        return message_ids(read_po(f))


def test_extraction_finds_the_marked_strings_of_code_and_templates(extracted: set[object]) -> None:
    assert "Skip to content" in extracted  # base.html
    assert ("%(num)s hour", "%(num)s hours") in extracted  # rules/formats.py, with its plural
    assert "Thank you: your pledge is recorded." in extracted  # ui/common.py's notices, marked with N_


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_catalogue_has_exactly_the_extracted_messages(code: str, extracted: set[object]) -> None:
    shipped = message_ids(catalogue(code))
    assert not extracted - shipped, f"{code}: messages to add (extract, then update, see README): " + repr(
        sorted(map(str, extracted - shipped))[:20]
    )
    assert not shipped - extracted, f"{code}: messages no longer in the code: " + repr(
        sorted(map(str, shipped - extracted))[:20]
    )


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(code: str) -> None:
    found = catalogue(code)
    problems = []
    for message in found:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if "fuzzy" in message.flags or not all(form and form.strip() for form in forms):
            problems.append(f"untranslated: {message.id!r}")
            continue
        if isinstance(message.id, tuple) and len(forms) != found.num_plurals:
            problems.append(f"{len(forms)} plural forms, not {found.num_plurals}: {message.id!r}")
        try:
            checkers.python_format(found, message)
        except Exception as e:  # babel's TranslationError: a placeholder missing, added or misspelled
            problems.append(f"{e}: {message.id!r}")
        names = set(re.findall(r"%\((\w+)\)s", str(message.id)))
        for form in forms:
            if not set(re.findall(r"%\((\w+)\)s", form)) <= names | {"num", "count"}:
                problems.append(f"a placeholder the code does not fill: {form!r}")
    assert not problems, f"{code}:\n" + "\n".join(problems)


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_shipped_compiled_catalogue_is_the_po_compiled(code: str) -> None:
    """The .mo files are committed (a plain `pip install .` needs no compile step): they must match the .po."""
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(code))
    shipped = (languages.LOCALE_DIR / code / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert compiled.getvalue() == shipped, (
        f"{code}: messages.mo is stale: run `pybabel compile -d fedgroup/locale -D messages`"
    )


# Errors raised with an f-string that may stay so: reasons that are only logged (blueprint_inbox.Ignored), and
# the catalogue missing from a broken install (there is no catalogue to say it in).
ENGLISH_ONLY_ERRORS = {("blueprint_inbox.py", "Ignored"), ("languages.py", "LanguageError")}


def test_no_error_in_rules_or_actions_is_made_with_an_f_string() -> None:
    """An error a person reads is `N_("…")`, or `Message(N_("…"), values)` when it carries values: an f-string
    would read in English on every page and on the command line (README.md, "Languages")."""
    import ast

    found = []
    for path in sorted(
        [*(ROOT / "fedgroup" / "rules").rglob("*.py"), *(ROOT / "fedgroup" / "actions").rglob("*.py")]
    ):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args):
                continue
            made = node.exc.args[0]
            error = ast.unparse(node.exc.func).rpartition(".")[2]
            if not isinstance(made, ast.Call) and any(isinstance(n, ast.JoinedStr) for n in ast.walk(made)):
                if (path.name, error) not in ENGLISH_ONLY_ERRORS:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {error}({ast.unparse(made)[:60]})")
    assert not found, "errors made with f-strings (make them Messages):\n" + "\n".join(found)


def test_errors_with_values_read_in_each_language_with_their_values() -> None:
    from fedgroup.rules.campaigns import CampaignError, validate_pledge
    from fedgroup.rules.timezones import TimeZoneError, zone

    es, ar = languages.language("es"), languages.language("ar")
    with pytest.raises(CampaignError) as goal:
        parse_goal("money")
    assert str(goal.value) == "goal 'money' should look like money:1000:EUR or hours:40", "English as made"
    said = languages.message_of(goal.value)
    assert es.translate(said) == "el objetivo 'money' debería tener la forma money:1000:EUR o hours:40"
    assert ar.translate(said) == "يجب أن تكون الغاية 'money' على شكل money:1000:EUR أو hours:40"
    with pytest.raises(CampaignError) as kind:
        validate_pledge([parse_goal("money:10:EUR")], "hours", "2", "")
    assert es.translate(languages.message_of(kind.value)) == "esta campaña no tiene un objetivo de hours"
    with pytest.raises(TimeZoneError) as zoned:
        zone("Mars/Olympus")
    assert ar.translate(languages.message_of(zoned.value)).startswith("'Mars/Olympus' ليس اسم منطقة زمنية")


def test_config_knows_the_same_languages_as_the_rules() -> None:
    assert config.SHIPPED_LANGUAGES == languages.LANGUAGES


def test_a_translation_is_read_from_the_catalogue() -> None:
    assert languages.language("es").gettext("Campaigns") == "Campañas"
    assert languages.language("ar").gettext("Campaigns") == "الحملات"
    assert languages.language("en").gettext("Campaigns") == "Campaigns"
    assert languages.language("ar").direction == "rtl" and languages.language("hi").direction == "ltr"
    assert [lang.name for lang in languages.available()] == [
        "English", "español", "français", "português", "हिन्दी", "العربية"
    ]  # fmt: skip


# -- formats --------------------------------------------------------------------------------------------------


def test_money_follows_each_language() -> None:
    es, hi, en, fr, ar = (languages.language(c) for c in ("es", "hi", "en", "fr", "ar"))
    assert formats.money(Decimal("1234.5"), "EUR", es) == "1.234,50\u00a0€"
    assert formats.money(Decimal("1234567.5"), "INR", hi) == "₹12,34,567.50"
    assert formats.money(Decimal("1000"), "EUR", en) == "€1,000"
    assert formats.money(Decimal("12.5"), "EUR", en) == "€12.50"
    assert formats.money(Decimal("20"), "CHF", en) == "CHF\u00a020"
    assert formats.money(Decimal("1234.5"), "EUR", fr) == "1\u202f234,50\u00a0€"
    assert "1,234.50" in formats.money(Decimal("1234.5"), "EUR", ar)
    assert formats.money(Decimal("5"), "ZZZ", en).endswith("5") and "ZZZ" in formats.money(
        Decimal(5), "ZZZ", en
    )


def test_quantities_counts_and_dates_follow_each_language() -> None:
    es, hi, en, ar = (languages.language(c) for c in ("es", "hi", "en", "ar"))
    assert formats.quantity("hours", Decimal(1), None, en) == "1 hour"
    assert formats.quantity("hours", Decimal("2.5"), None, es) == "2,5 horas"
    assert formats.quantity("people", Decimal(1500000), None, hi) == "15,00,000 लोग"
    assert formats.quantity("people", Decimal(2), None, ar) == "شخصان"
    assert formats.progress("money", Decimal(340), Decimal(1000), "EUR", en) == "€340 of €1,000"
    assert formats.count(2, False, 3, es) == "menos de 3"
    assert formats.day(date(2027, 1, 15), es) == "15 de enero de 2027"
    assert formats.day(date(2027, 1, 15), en) == "15 January 2027"
    moment = datetime(2027, 1, 15, 17, 0, tzinfo=UTC)
    assert formats.moment(moment, "Europe/Madrid", en) == "15 January 2027, 18:00 (Europe/Madrid)"
    assert formats.moment(moment, "Asia/Kolkata", hi) == "15 जनवरी 2027, 22:30 (Asia/Kolkata)"


# -- choosing a language --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("es-ES,es;q=0.9,en;q=0.8", "es"),
        ("pt-BR", "pt"),
        ("de-CH, fr;q=0.5, en;q=0.7", "en"),  # quality orders, not position
        ("ar-EG;q=0.9, hi-IN", "hi"),
        ("de, it", None),
        ("fr;q=0, en;q=0.1", "en"),  # q=0 refuses
        ("*", None),
        ("", None),
        ("es;q=zz", None),  # a broken quality counts as a refusal, not as an error
    ],
)
def test_accept_language_is_negotiated(header: str, chosen: str | None) -> None:
    assert languages.from_accept_language(header) == chosen


def test_the_member_setting_comes_first_then_the_switch_then_the_browser_then_the_group() -> None:
    assert languages.choose("fr", "es", "hi", "ar") == "fr"
    assert languages.choose(None, "es", "hi", "ar") == "es"
    assert languages.choose(None, None, "hi", "ar") == "hi"
    assert languages.choose(None, "xx", "de", "ar") == "ar"
    assert languages.choose("xx", None, "", "xx") == "en"


def test_an_unknown_default_language_is_refused_in_the_settings(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="default_language"):
        config.from_mapping(tmp_path, {"base_url": "https://g.example", "default_language": "de"})
    assert (
        config.from_mapping(
            tmp_path, {"base_url": "https://g.example", "default_language": "hi"}
        ).default_language
        == "hi"
    )
    env = config.from_environment({"FEDGROUP_DEFAULT_LANGUAGE": "ar"})
    assert env == {"default_language": "ar"}


def test_one_of_a_unit_follows_the_language_not_english_rules() -> None:
    """An items goal with no unit says "item" in each language's own word and plural forms; a unit an organizer
    typed is made singular by English rules only when it is English (the campaign's language), and is shown
    as typed otherwise ("1 panes", never the English-ruled "1 pane")."""
    es, ar, en = (languages.language(c) for c in ("es", "ar", "en"))
    items = parse_goal("items:1")
    assert formats.quantity("items", Decimal(1), items.unit, es) == "1 artículo"
    assert formats.quantity("items", Decimal(3), items.unit, es) == "3 artículos"
    assert formats.quantity("items", Decimal(1), items.unit, ar) == "غرض واحد"
    assert formats.quantity("items", Decimal(1), items.unit, en) == "1 item"
    for reader in (es, ar, en):
        assert formats.quantity("items", Decimal(1), "panes", reader, "es") == "1 panes"
        assert formats.quantity("items", Decimal(1), "photos", reader, "en") == "1 photo"
    assert formats.quantity("items", Decimal(1), "panes", es) == "1 panes", (
        "the reader's language when not known"
    )


async def test_a_spanish_campaigns_unit_is_shown_as_typed_in_every_language(make_server) -> None:
    server = await make_server(default_language="es")
    await actions.create_campaign(
        server.runtime, "Pan para la olla común", "Cada sábado.", goals=[parse_goal("items:40:panes")],
        options=[parse_option("Traer pan=items:1"), parse_option("Traer más=items:3")],
        visibility="public",
    )  # fmt: skip
    visitor = WebClient(server.base_url)
    try:
        for accept in ("es", "ar", "en"):
            page = await visitor.get("/campaigns/1", headers={"Accept-Language": accept})
            assert page.status == 200 and "1 panes" in page.text and "1 pane<" not in page.text, accept
            assert "1 pane " not in page.text and "1 pane)" not in page.text, accept
    finally:
        await visitor.close()


async def test_pages_speak_the_browsers_language_and_the_switch_overrides_it(make_server) -> None:
    server = await make_server()
    await actions.create_campaign(
        server.runtime, "Water for the school", "Taps.", goals=[parse_goal("money:1234.5:EUR")],
        visibility="public",
    )  # fmt: skip
    anonymous = WebClient(server.base_url)
    try:
        english = await anonymous.get("/groups/water")
        assert '<html lang="en" dir="ltr">' in english.text and "Campaigns" in english.text
        assert "Accept-Language" in english.headers["Vary"]

        spanish = await anonymous.get("/groups/water", headers={"Accept-Language": "es-MX,es;q=0.9"})
        assert '<html lang="es" dir="ltr">' in spanish.text and "Campañas" in spanish.text
        assert "0\u00a0€ de 1234,50\u00a0€" in spanish.text or "0\u00a0€ de 1.234,50\u00a0€" in spanish.text
        # The public page is kept per language: English visitors still get English.
        assert "Campañas" not in (await anonymous.get("/groups/water")).text

        switched = await anonymous.get("/language?language=ar&next=/groups/water")
        assert switched.url.endswith("/groups/water")
        arabic = await anonymous.get("/groups/water", headers={"Accept-Language": "es"})
        assert '<html lang="ar" dir="rtl">' in arabic.text and "الحملات" in arabic.text
        # A switch to something we do not speak changes nothing; a foreign `next` stays on the site.
        kept = await anonymous.get("/language?language=xx&next=//evil.example/")
        assert kept.url == server.base_url + "/" or kept.url.startswith(server.base_url)
        assert '<html lang="ar"' in (await anonymous.get("/groups/water")).text
    finally:
        await anonymous.close()


async def test_a_member_chooses_a_language_and_the_group_sets_its_default(make_server) -> None:
    server = await make_server(default_language="fr")
    await actions.add_member(server.runtime, "Ada Admin", "admin", None, hash_password(PASSWORD))
    visitor = WebClient(server.base_url)
    admin = WebClient(server.base_url)
    try:
        assert '<html lang="fr"' in (await visitor.get("/login")).text, "config.toml's default_language"
        await admin.sign_in("Ada Admin", PASSWORD)
        assert "Vos campagnes" not in (await admin.get("/home")).text
        saved = await admin.post("/account/language", {"language": "hi"}, csrf_from="/account")
        assert saved.status == 200 and '<html lang="hi"' in saved.text and "सहेजा गया।" in saved.text
        refused = await admin.post("/account/language", {"language": "xx"}, csrf_from="/account")
        assert refused.status == 422 and "xx" in refused.text
        # The group settings page sets the group's language: visitors without a preference get it.
        settings = await admin.get("/admin/group")
        assert 'value="fr" lang="fr" selected' in settings.text
        changed = await admin.post(
            "/admin/group", {"name": "Group A", "summary": "", "timezone": "UTC", "language": "pt"}
        )
        assert changed.status == 200, changed.text
        assert '<html lang="pt"' in (await visitor.get("/login")).text
        assert '<html lang="hi"' in (await admin.get("/home")).text, "the member's own setting wins"
        await admin.post("/account/language", {"language": ""}, csrf_from="/account")
        page = await admin.get("/home", headers={"Accept-Language": "ar"})
        assert '<html lang="ar" dir="rtl"' in page.text, "no setting: the browser's language"
    finally:
        await visitor.close()
        await admin.close()


async def test_errors_from_forms_and_rules_read_in_the_members_language(make_server) -> None:
    """A message made in ui/ (a form's check) or in rules/ and actions/ (marked with N_) is shown through the
    catalogue, escaped as text; one with values in it stays as it was made."""
    server = await make_server()
    member = await actions.add_member(server.runtime, "Ana", "member", None, hash_password(PASSWORD))
    await server.runtime.db.write(store.members.set_language, member, "es")
    ana = WebClient(server.base_url)
    try:
        await ana.sign_in("Ana", PASSWORD)
        wrong = await ana.post(
            "/account",
            {
                "current": "not my password",
                "new": "a brand new password",
                "new_again": "a brand new password",
            },
            csrf_from="/account",
        )
        assert wrong.status == 422 and "Esa no es tu contraseña actual." in wrong.text
        untitled = await ana.post(
            "/proposals/new",
            {"title": "", "body": "", "kind": "consent", "closes": "2099-01-01T10:00", "quorum": ""},
            csrf_from="/proposals/new",
        )
        assert untitled.status == 422 and "Una propuesta necesita un título." in untitled.text
        assert "a proposal needs a title" not in untitled.text.lower()
        # A message with a value in it (rules.languages.Message) keeps its value in the member's language.
        short = await ana.post(
            "/account", {"current": PASSWORD, "new": "short", "new_again": "short"}, csrf_from="/account"
        )
        assert short.status == 422 and "Una contraseña necesita al menos 10 caracteres." in short.text
        one_option = await ana.post(
            "/proposals/new",
            {"title": "Parque", "body": "", "kind": "choice", "option-0": "Sí", "closes": "2099-01-01T10:00",
             "quorum": ""},
            csrf_from="/proposals/new",
        )  # fmt: skip
        assert "Una propuesta de este tipo (choice) necesita al menos 2 opciones." in one_option.text
    finally:
        await ana.close()


TEMPLATES = ROOT / "fedgroup" / "web" / "templates"


def unmarked_text(template: str) -> list[str]:
    """Words a template shows that are not marked for translation: text between tags, and the attributes
    people read (aria-label, placeholder, title, alt), once every jinja2 expression, statement, comment and
    `{% trans %}` block is taken out. <code> is left out (commands and settings are not translated), and so
    are attribute runs that macros write outside a tag."""
    text = re.sub(r"{#.*?#}", " ", template, flags=re.S)
    text = re.sub(r"{%-?\s*trans\b.*?endtrans\s*-?%}", " ", text, flags=re.S)
    text = re.sub(r"{{.*?}}|{%.*?%}", " ", text, flags=re.S)
    text = re.sub(r"<code\b.*?</code>|<style\b.*?</style>|<script\b.*?</script>", " ", text, flags=re.S)
    found = [
        value
        for value in re.findall(r'(?:aria-label|placeholder|title|alt)="([^"]*)"', text)
        if re.search(r"[A-Za-z]{2,}", value) and not re.fullmatch(r"[@\w.:/-]*", value.strip())
    ]
    for piece in re.sub(r"<[^>]*>", "\n", text).splitlines():
        piece = re.sub(r'[\w-]+="[^"]*"', " ", piece).strip()
        if re.search(r"[A-Za-z]{2,}", piece):
            found.append(piece)
    return found


def test_no_template_shows_text_that_is_not_marked_for_translation() -> None:
    left = {
        str(path.relative_to(TEMPLATES)): unmarked_text(path.read_text())
        for path in sorted(TEMPLATES.rglob("*.html"))
    }
    left = {name: words for name, words in left.items() if words}
    assert not left, f"mark these with _() or {{% trans %}} (README.md, Languages): {left}"


def test_the_unmarked_text_check_sees_text_between_tags_and_in_attributes() -> None:
    assert unmarked_text('<p>Hello</p><input placeholder="your name">') == ["your name", "Hello"]
    assert unmarked_text('<p>{{ _("Hello") }}</p><code>fedgroup serve</code>') == []


def test_a_proposals_count_reads_in_the_page_language_and_as_before_in_english() -> None:
    from fedgroup.rules import proposals

    options = ("Library", "Park")
    cases = [
        proposals.tally(
            "consent", (), [proposals.Position("agree"), proposals.Position("block", "no")], None
        ),
        proposals.tally("consent", (), [proposals.Position("agree")] * 2, 5),
        proposals.tally("choice", options, [proposals.Position(0), proposals.Position(1)], None),
        proposals.tally("ranked", options, [proposals.Position((1, 0)), proposals.Position((1,))], None),
        proposals.tally("score", options, [proposals.Position((5, 2))], None),
    ]
    english, spanish = languages.language("en"), languages.language("es")
    for case in cases[:1] + cases[2:]:
        assert proposals.count_lines_in(case, english) == proposals.count_lines(case)
    assert proposals.count_lines_in(cases[1], english)[0] == (
        "Quorum not met: 2 of 5 needed took part (passed: nobody blocks)"
    )
    assert proposals.count_lines_in(cases[0], spanish)[:3] == [
        "Bloqueada: 1 bloqueo",
        "2 miembros participaron",
        "De acuerdo: 1 voto",
    ]
    assert proposals.count_lines_in(cases[2], spanish)[0] == "Empate entre Library y Park"
    assert proposals.count_lines_in(cases[4], spanish)[2] == "Library: 5 puntos, media 5,0"


def test_a_proposals_block_is_an_objection_not_the_moderation_buttons_block() -> None:
    """Two catalogue entries for one English word: in Arabic a consent position's "Block" reads as a blocking
    objection (اعتراض مانع), the moderation button's as a ban (حظر)."""
    from fedgroup.rules import proposals

    arabic, spanish = languages.language("ar"), languages.language("es")
    assert proposals.consent_text_in("block", arabic) == "اعتراض مانع"
    assert arabic.gettext("Block") == "حظر"
    blocked = proposals.tally("consent", (), [proposals.Position("block", "no")], None)
    lines = proposals.count_lines_in(blocked, arabic)
    assert lines[-1] == "اعتراض مانع: صوت واحد" and not any("حظر" in line for line in lines), lines
    assert proposals.position_text("consent", (), "block", spanish) == "Bloquear"
    assert proposals.position_text("consent", (), "block") == "Block", "English where no language is given"
    for code in TRANSLATED:
        assert ("proposal position", "Block") in message_ids(catalogue(code)), code
