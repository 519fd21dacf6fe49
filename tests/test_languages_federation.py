"""Languages on the wire: our campaigns and outcomes carry `contentMap` (and the poll options `nameMap`) under
the campaign's language, a campaign written in two languages federates both, and a partner's `contentMap`
shows each member the text in their language when the partner sent one."""

from __future__ import annotations

from fedgroup import actions, store
from fedgroup.protocol.parse_campaigns import content_map
from fedgroup.rules import campaigns
from fedgroup.rules.campaigns import parse_goal, parse_option
from fedgroup.rules.passwords import hash_password
from tests.conftest import eventually, run_cli
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


async def _document(peer, reader, url: str) -> dict:
    """The document as a Mastodon-shaped server fetches it (signed: authorized fetch)."""
    status, document = await peer.get(reader, url)
    assert status == 200, status
    return document


async def test_a_campaign_in_two_languages_federates_both_and_partners_read_theirs(make_server, peer) -> None:
    b = await make_server("b", handle="aguas", default_language="es", totals_update_seconds=0.1)
    a = await make_server("a", handle="tenants")
    campaign_id = await actions.create_campaign(
        b.runtime,
        "Agua para la escuela",
        "Los grifos no funcionan.",
        goals=[parse_goal("money:500:EUR")],
        options=[parse_option("Dar 10 €=money:10"), parse_option("Dar 20 €=money:20")],
        second=campaigns.SecondLanguage("en", "Water for the school", "The taps do not work."),
    )
    reader = peer.add_actor("alice", "peer-1")
    document = await _document(peer, reader, b.url(f"/campaigns/{campaign_id}"))
    assert set(document["contentMap"]) == {"es", "en"}
    assert document["contentMap"]["es"] == document["content"], "content stays, in the campaign's language"
    assert "Agua para la escuela" in document["content"]
    assert "Water for the school" in document["contentMap"]["en"] and "taps" in document["contentMap"]["en"]
    assert [o["nameMap"] for o in document["oneOf"]] == [{"es": "Dar 10 €"}, {"es": "Dar 20 €"}]
    assert "name" not in document, "still no name: servers would show it as a content warning"

    # The group's language changes later: the campaign keeps naming the language it was written in.
    await actions.update_group_profile(b.runtime, language="fr")
    assert set((await _document(peer, reader, b.url(f"/campaigns/{campaign_id}")))["contentMap"]) == {
        "es",
        "en",
    }
    await actions.report_outcome(b.runtime, campaign_id, "El ayuntamiento arregló los grifos.")
    outcome = await _document(peer, reader, b.url(f"/campaigns/{campaign_id}/outcome"))
    assert outcome["contentMap"] == {"es": outcome["content"]}

    # A (English) follows B: its members read B's campaign in their language where B sent it.
    for name, language in (("Eve English", "en"), ("Sol Spanish", "es"), ("Hana Hindi", "hi")):
        member = await actions.add_member(a.runtime, name, "member", None, hash_password(PASSWORD))
        await actions.set_member_language(a.runtime, member, language)
    await actions.follow_group(a.runtime, await a.runtime.actors.actor(b.url("/groups/aguas")))

    async def imported():
        return await a.runtime.db.read(
            store.campaigns.partner_campaign_by_object, b.url(f"/campaigns/{campaign_id}")
        )

    partner = await eventually(imported)
    seen = {}
    for name, language in (("Eve English", "en"), ("Sol Spanish", "es"), ("Hana Hindi", "hi")):
        client = WebClient(a.base_url)
        try:
            await client.sign_in(name, PASSWORD)
            page = await client.get(f"/partners/{partner.id}")
            assert page.status == 200
            seen[language] = page.text
        finally:
            await client.close()
    assert "The taps do not work." in seen["en"] and 'lang="en"' in seen["en"]
    assert "Los grifos no funcionan." in seen["es"] and "taps" not in seen["es"]
    # Hindi was not sent: the partner's own `content` (its language, named), never an empty page.
    assert (
        "Los grifos no funcionan." in seen["hi"]
        and 'class="remote-content" dir="auto" lang="es"' in seen["hi"]
    )


async def test_each_content_map_entry_says_its_fixed_words_in_its_own_language(make_server, peer) -> None:
    """The goals line, "Outcome:" and "Reopened on …" are in the language of the contentMap entry they are in:
    the campaign's (Spanish here) and its second language's (Arabic); none of them in English."""
    b = await make_server("b", handle="aguas", default_language="es")
    campaign_id = await actions.create_campaign(
        b.runtime,
        "Agua para la escuela",
        "Los grifos no funcionan.",
        goals=[parse_goal("money:500:EUR"), parse_goal("hours:40")],
        options=[],
        second=campaigns.SecondLanguage("ar", "ماء للمدرسة", "الصنابير لا تعمل."),
    )
    reader = peer.add_actor("alice", "peer-1")
    url = b.url(f"/campaigns/{campaign_id}")
    document = await _document(peer, reader, url)
    spanish, arabic = document["contentMap"]["es"], document["contentMap"]["ar"]
    assert "<p>Objetivos: 500\u00a0€ · 40 horas</p>" in spanish, spanish
    assert "الغايات:" in arabic and "40 ساعة" in arabic, arabic
    await actions.close_campaign(b.runtime, campaign_id)
    await actions.report_outcome(b.runtime, campaign_id, "El ayuntamiento arregló los grifos.")
    document = await _document(peer, reader, url)
    assert "<p>Resultado: El ayuntamiento arregló los grifos.</p>" in document["contentMap"]["es"]
    outcome = await _document(peer, reader, f"{url}/outcome")
    assert outcome["contentMap"]["es"].startswith("<p><strong>Resultado: Agua para la escuela</strong></p>")
    assert "500\u00a0€: 0\u00a0€ comprometido, 0\u00a0€ entregado" in outcome["contentMap"]["es"]
    await actions.reopen_campaign(b.runtime, campaign_id)
    reopened = (await _document(peer, reader, f"{url}/outcome"))["contentMap"]["es"]
    assert "Reabierta el " in reopened and "la campaña vuelve a aceptar compromisos" in reopened, reopened
    for text in (*document["contentMap"].values(), *outcome["contentMap"].values(), reopened):
        for english in ("Goal", "Outcome", "Reopened", "pledged", "given"):
            assert english not in text, (english, text)


async def test_a_published_decision_says_its_words_in_the_groups_language(make_server, peer) -> None:
    """The decision Note's "Decision:" and its count are in the group's language, which `contentMap` names."""
    from datetime import timedelta

    from fedgroup.rules.proposals import Position

    b = await make_server("b", handle="aguas", default_language="es")
    olu = await actions.add_member(b.runtime, "Olu", "organizer", None, hash_password(PASSWORD))
    proposals = actions.proposals
    pid = await proposals.create_proposal(
        b.runtime, olu, "Unirnos a la coalición", "", "consent", [], b.runtime.now() + timedelta(days=7)
    )
    await proposals.take_position(b.runtime, pid, olu, Position("block", "todavía no"))
    await proposals.close_proposal(b.runtime, pid, olu)
    await proposals.write_outcome(b.runtime, pid, olu, "Hablamos de nuevo en enero.")
    await proposals.publish_outcome(b.runtime, pid, olu, "public")
    note = await _document(peer, peer.add_actor("alice", "peer-1"), b.url(f"/decisions/{pid}"))
    assert note["contentMap"] == {"es": note["content"]}
    content = note["content"]
    assert content.startswith("<p><strong>Decisión: Unirnos a la coalición</strong></p>"), content
    assert "<p>Bloqueada: 1 bloqueo</p>" in content and "<p>Bloquear: 1 voto</p>" in content, content
    assert "todavía no" not in content, "a block's reason stays with the members"
    for english in ("Decision", "Blocked", "vote", "took part"):
        assert english not in content, (english, content)


async def test_a_gatherings_event_says_its_words_and_dates_in_the_groups_language(make_server, peer) -> None:
    """The Event's fixed words ("Online:", "and online", CANCELLED) and its dates are in the group's language,
    which `contentMap` and `nameMap` name; an English group's Event says what it always said."""
    from datetime import UTC, datetime, timedelta

    from fedgroup.protocol import gatherings as documents
    from fedgroup.protocol.ids import LocalIds
    from fedgroup.rules import gatherings
    from fedgroup.store.gatherings import GatheringRow

    b = await make_server("b", handle="aguas", default_language="es")
    form = actions.GatheringForm(
        title="Asamblea del barrio", description="En la plaza.", starts="2031-01-15T18:00",
        ends="2031-01-15T20:00", timezone="Europe/Madrid", place="Plaza Mayor",
        online_url="https://meet.example/asamblea", visibility="public",
    )  # fmt: skip
    gathering_id = await actions.create_gathering(b.runtime, None, form)
    await actions.cancel_gathering(b.runtime, gathering_id)
    event = await _document(peer, peer.add_actor("alice", "peer-1"), b.url(f"/gatherings/{gathering_id}"))
    assert event["contentMap"] == {"es": event["content"]}
    assert event["nameMap"] == {"es": "Asamblea del barrio"}
    assert '<p>En línea: <a href="https://meet.example/asamblea">' in event["content"], event["content"]
    assert event["summary"] == (
        "CANCELADO · 15 de enero de 2031, 18:00–20:00 (Europe/Madrid) · Plaza Mayor y en línea"
    ), event["summary"]
    for english in ("Online", "CANCELLED ·", "January", "and online"):
        assert english not in event["summary"] + event["content"], english
    assert event["status"] == "CANCELLED", "Mobilizon's status stays the iCalendar word"
    # `gathering show`: its field names stay for scripts, the values people read are in Spanish.
    shown = await run_cli("gathering", "show", str(gathering_id), "--data-dir", str(b.config.data_dir))
    assert shown.returncode == 0, shown.stderr
    assert "when: 15 de enero de 2031, 18:00–20:00 (Europe/Madrid)\n" in shown.stdout, shown.stdout
    assert "where: Plaza Mayor y en línea — https://meet.example/asamblea\n" in shown.stdout, shown.stdout
    assert "places: 0 asistirán\n" in shown.stdout, shown.stdout

    # An English group: the same words as before, byte for byte, now tagged "en".
    moment = datetime(2031, 1, 15, 17, tzinfo=UTC)
    row = GatheringRow(
        id=4, title="Door-knocking", description="Meet at the hall.", starts_at=moment,
        ends_at=moment + timedelta(hours=2), timezone="Europe/Madrid", place="Community hall", latitude=None,
        longitude=None, online_url="https://meet.example/knock", capacity=None, campaign_id=None,
        visibility="public", status="cancelled", created_at=moment, updated_at=moment,
    )  # fmt: skip
    ids = LocalIds("https://water.example", "water")
    english = documents.event_object(ids, row, gatherings.counts(None, []), minimum=3, language="en")
    assert english["summary"] == (
        "CANCELLED · 15 January 2031, 18:00–20:00 (Europe/Madrid) · Community hall and online"
    )
    online = '<p>Online: <a href="https://meet.example/knock">https://meet.example/knock</a></p>'
    assert english["content"] == "<p>Meet at the hall.</p>" + online
    assert english["contentMap"] == {"en": english["content"]}
    assert english["nameMap"] == {"en": "Door-knocking"}


async def test_a_blueprint_says_its_words_in_the_groups_language(make_server, peer) -> None:
    """The blueprint Article's headings, its results line and its days are in the group's language, which
    `contentMap` and `nameMap` name."""
    from fedgroup.actions import blueprints as blueprint_actions

    b = await make_server("b", handle="aguas", default_language="es")
    campaign_id = await actions.create_campaign(
        b.runtime, "Agua para la escuela", "Los grifos no funcionan.",
        goals=[parse_goal("money:1500:EUR"), parse_goal("hours:3")],
    )  # fmt: skip
    await actions.report_outcome(b.runtime, campaign_id, "Arreglaron los grifos.")
    number = await blueprint_actions.publish_blueprint(
        b.runtime, campaign_id, title="Cómo arreglamos los grifos", summary="Primero una carta.",
        what_worked="Ir juntos al pleno.", do_differently="Empezar antes.",
    )  # fmt: skip
    article = await _document(peer, peer.add_actor("alice", "peer-1"), b.url(f"/blueprints/{number}"))
    content = article["content"]
    assert article["contentMap"] == {"es": content}
    assert article["nameMap"] == {"es": "Cómo arreglamos los grifos"}
    assert "<p><strong>Lo que funcionó</strong></p><p>Ir juntos al pleno.</p>" in content, content
    assert "<p><strong>Lo que haríamos de otra manera</strong></p>" in content, content
    line = "<p>1.500 € pedido, 0 € comprometido, 0 € entregado · 3 horas pedido, 0 horas comprometido, 0 horas entregado"
    assert line + " · 1 día</p>" in content.replace("\u00a0", " "), content
    for english in ("What", "asked", "pledged", "given", "days", "hours"):
        assert english not in content, (english, content)

    # `blueprint show` on the command line says its lines for people in the group's language too.
    shown = await run_cli("blueprint", "show", str(number), "--data-dir", str(b.config.data_dir))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.replace("\u00a0", " ").splitlines()
    assert lines == [
        "Cómo arreglamos los grifos",
        "adoptada por 0 grupos",
        "en conjunto: 1 grupo la llevó a cabo, 1 terminaron, 0 lo lograron",
        "  0 € comprometido, 0 € entregado",
        "  0 horas comprometido, 0 horas entregado",
    ], lines


def test_only_language_tagged_text_is_kept_from_a_content_map() -> None:
    """Keys that are not language tags and values that are not text are dropped (each kept value is then
    sanitized as `content` is, in actions/campaign_inbox.py)."""
    pairs = content_map(
        {"contentMap": {"en": "<p>Hi</p>", "not a tag!": "<p>x</p>", "fr": 7, "es-419": "<p>Hola</p>"}}
    )
    assert pairs == (("en", "<p>Hi</p>"), ("es-419", "<p>Hola</p>"))
    assert content_map({"contentMap": ["en"]}) == () and content_map({}) == ()


def test_the_command_line_speaks_the_groups_language_for_people(tmp_path, monkeypatch) -> None:
    """Amounts and words meant for people follow the group's language; field names and tables stay plain."""
    from tests.test_cli import run

    data = str(tmp_path / "d")
    monkeypatch.setenv("FEDGROUP_DEFAULT_LANGUAGE", "hi")
    assert run("init", "--data-dir", data, "--base-url", "https://t.example", "--name", "T").returncode == 0
    created = run(
        "campaign",
        "create",
        "--title",
        "पानी",
        "--body",
        "नल",
        "--goal",
        "money:1500000:INR",
        "--data-dir",
        data,
    )
    assert created.returncode == 0, created.stderr
    shown = run("campaign", "show", "1", "--data-dir", data)
    assert "progress: ₹15,00,000 में से ₹0" in shown.stdout, shown.stdout
    assert run("money", "list", "1", "--data-dir", data).stdout.startswith("₹0 जुटाए · ₹0 ख़र्च · ₹0 बाक़ी")
    # A mistake is told in the group's language too, where the catalogue has its words.
    untitled = run("campaign", "create", "--title", " ", "--body", "नल", "--data-dir", data)
    assert untitled.returncode == 2 and "अभियान का शीर्षक होना चाहिए" in untitled.stderr, untitled.stderr


def test_the_command_lines_confirmations_speak_the_groups_language(tmp_path, monkeypatch) -> None:
    """What the CLI tells a person (a confirmation, an empty list, a plural) comes from the catalogues in the
    group's language; what scripts read (a URL, a table) stays as it was."""
    from tests.test_cli import run

    def said(*args: str) -> str:
        done = run(*args, "--data-dir", data)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    data = str(tmp_path / "es")
    monkeypatch.setenv("FEDGROUP_DEFAULT_LANGUAGE", "es")
    assert run("init", "--data-dir", data, "--base-url", "https://t.example", "--name", "T").returncode == 0
    assert (
        said("member", "add", "Ana", "--role", "organizer")
        == "se añadió a Ana como organizadora u organizador"
    )
    said("member", "add", "Bea", "--role", "organizer")
    assert said("campaign", "create", "--title", "Agua", "--body", "x", "--goal", "money:100:EUR") == (
        "https://t.example/campaigns/1"
    )
    assert said("pledge", "add", "--campaign", "1", "--member", "Ana", "--amount", "money:5") == (
        "compromiso registrado para Ana"
    )
    assert said("pledge", "withdraw", "--campaign", "1", "--member", "Ana") == "se retiró 1 compromiso de Ana"
    assert said("money", "receive", "1", "--by", "Ana", "--source", "feria", "--amount", "10") == (
        "entrada recibida 1: 10\u00a0€ recaudado · 0\u00a0€ gastado · 10\u00a0€ disponible"
    )
    assert said("campaign", "close", "1") == "campaña 1 cerrada"
    assert said("campaign", "close", "1") == "la campaña 1 ya estaba cerrada"
    assert said("proposal", "list") == "aún no hay propuestas"
    assert said("campaign", "list").split("\t")[:4] == ["1", "closed", "public", "Agua"], (
        "a table stays plain"
    )
    # A command's own refusal too (not only the rules' errors).
    refused = run("group", "set", "--data-dir", data)
    assert (
        refused.returncode == 2 and "nada que cambiar: indica --name, --summary o --avatar" in refused.stderr
    )
    refused = run("inbox", "retry", "99", "--data-dir", data)
    assert "no hay ninguna actividad abandonada con el número 99" in refused.stderr, refused.stderr

    data = str(tmp_path / "ar")
    monkeypatch.setenv("FEDGROUP_DEFAULT_LANGUAGE", "ar")
    assert run("init", "--data-dir", data, "--base-url", "https://t.example", "--name", "T").returncode == 0
    assert said("member", "add", "Ana", "--role", "member") == "أُضيف Ana عضوًا"
    said("campaign", "create", "--title", "Agua", "--body", "x", "--goal", "money:100:EUR")
    assert said("campaign", "close", "1") == "أُغلقت الحملة 1"
    assert said("campaign", "reopen", "1") == "أُعيد فتح الحملة 1"
    assert said("block", "list") == "لا شيء محظور"


async def test_an_organizer_writes_a_campaign_in_two_languages_and_each_visitor_reads_theirs(
    make_server,
) -> None:
    server = await make_server()
    await actions.add_member(server.runtime, "Olu Organizer", "organizer", None, hash_password(PASSWORD))
    organizer = WebClient(server.base_url)
    visitor = WebClient(server.base_url)
    form = {
        "title": "Winter coats", "body": "Coats for the shelter.", "goal_money": "200", "unit_money": "EUR",
        "option_label_0": "", "option_kind_0": "money", "option_amount_0": "", "deadline": "",
        "visibility": "public", "second_language": "ar", "second_title": "", "second_body": "معاطف للملجأ.",
    }  # fmt: skip
    try:
        await organizer.sign_in("Olu Organizer", PASSWORD)
        half = await organizer.post("/organize/campaigns/new", form)
        assert half.status == 422 and 'id="second_title-error"' in half.text
        same = await organizer.post(
            "/organize/campaigns/new", form | {"second_language": "en", "second_title": "X"}
        )
        assert same.status == 422 and 'id="second_language-error"' in same.text
        created = await organizer.post("/organize/campaigns/new", form | {"second_title": "معاطف الشتاء"})
        assert created.status == 200 and "?done=created" in created.url
        assert 'value="ar" lang="ar" selected' in created.text, "the edit form shows the second language"

        arabic = await visitor.get("/campaigns/1", headers={"Accept-Language": "ar"})
        assert "معاطف الشتاء" in arabic.text and "Winter coats" not in arabic.text
        english = await visitor.get("/campaigns/1", headers={"Accept-Language": "en"})
        assert "Winter coats" in english.text and "معاطف" not in english.text
        spanish = await visitor.get("/campaigns/1", headers={"Accept-Language": "es"})
        assert '<h1 dir="auto" lang="en">Winter coats</h1>' in spanish.text, "English text in a Spanish page"

        edited = await organizer.post(
            "/organize/campaigns/1/edit",
            {"title": "Winter coats", "body": "Coats.", "target_money": "200", "deadline": "",
             "second_language": "", "second_title": "", "second_body": ""},
            csrf_from="/organize/campaigns/1",
        )  # fmt: skip
        assert edited.status == 200
        assert "معاطف" not in (await visitor.get("/campaigns/1", headers={"Accept-Language": "ar"})).text
    finally:
        await organizer.close()
        await visitor.close()


def test_a_process_locale_is_read_as_gettext_programs_read_it() -> None:
    """LANGUAGE, LC_ALL, LC_MESSAGES, LANG: the first set decides; its language part, else English."""
    from fedgroup.rules.languages import of_locale_environment

    assert of_locale_environment({}) == "en"
    assert of_locale_environment({"LANG": "es_ES.UTF-8"}) == "es"
    assert of_locale_environment({"LANG": "pt_BR.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8"}) == "fr"
    assert of_locale_environment({"LANG": "es_ES.UTF-8", "LC_ALL": "ar_EG.UTF-8@latin"}) == "ar"
    assert of_locale_environment({"LANG": "es_ES.UTF-8", "LANGUAGE": "de:hi:fr"}) == "hi", "first shipped"
    assert of_locale_environment({"LANG": "es_ES.UTF-8", "LC_ALL": "C.UTF-8"}) == "en", "C reads English"
    assert of_locale_environment({"LANG": "de_DE.UTF-8"}) == "en", "a language we do not ship"
    assert of_locale_environment({"LANGUAGE": "", "LANG": "hi_IN"}) == "hi", "an empty variable is unset"


def test_before_a_groups_data_is_open_the_command_line_speaks_the_process_locale(
    tmp_path, monkeypatch
) -> None:
    """`fedgroup --help`, and what `init`, `serve` and `backup` say before a group's language is known, follow
    the process's locale (LANG=es_ES.UTF-8); English without one."""
    from fedgroup.rules.languages import LOCALE_VARIABLES
    from tests.test_cli import run

    for name in LOCALE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert "A home on the fediverse for small activist groups." in run("--help").stdout
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    helped = run("--help")
    assert (
        helped.returncode == 0
        and "Un hogar en el fediverso para pequeños grupos activistas." in helped.stdout
    )
    assert helped.stdout.startswith("uso: fedgroup") and "muestra esta ayuda y termina" in helped.stdout
    usage = run("campaign", "create")
    assert usage.returncode == 2 and usage.stderr.strip() == (
        "fedgroup: error: faltan estos argumentos obligatorios: --title, --body "
        "(consulta `fedgroup campaign create --help`)"
    ), usage.stderr
    port = run("serve", "--port", "70000", "--data-dir", str(tmp_path / "x"))
    assert port.returncode == 2 and "--port debe estar entre 0 y 65535" in port.stderr, port.stderr
    data = tmp_path / "d"
    made = run("init", "--data-dir", str(data), "--base-url", "https://t.example", "--name", "T")
    assert made.stdout.strip() == f"se creó el grupo @group@t.example en {data}", made.stdout
    copy = tmp_path / "copia.tar.gz"
    saved = run("backup", "--data-dir", str(data), "--to", str(copy))
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.startswith(f"se escribió {copy} ("), saved.stdout
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    assert run("serve", "--port", "70000").stderr.strip().endswith("--port must be between 0 and 65535")
    assert run("--help").stdout.startswith("usage: fedgroup"), "argparse's words are English again"


def test_status_says_what_follows_its_labels_in_the_groups_language(tmp_path, monkeypatch) -> None:
    """`fedgroup status` keeps its labels for scripts ("workers:", "last backup:") and says what follows them
    for people in the group's language."""
    from tests.test_cli import run

    data = str(tmp_path / "es")
    monkeypatch.setenv("FEDGROUP_DEFAULT_LANGUAGE", "es")
    assert run("init", "--data-dir", data, "--base-url", "https://t.example", "--name", "T").returncode == 0
    status = run("status", "--data-dir", data)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert "workers: ninguna cola se ha atascado" in lines, lines
    assert "last backup: nunca" in lines, lines
    assert lines[0].startswith("inbox: pending: 0"), "the counts' labels stay as scripts read them"
