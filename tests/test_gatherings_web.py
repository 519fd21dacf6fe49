"""Gatherings in the web UI and on the command line, over real HTTP beside a running server: the organizers'
form with its errors, members' RSVPs past the capacity onto the waiting list and back, what visitors and
members see (numbers, never names), the .ics download, cancelling, and `fedgroup gathering ...`."""

from __future__ import annotations

import re

import icalendar
import pytest

from fedgroup import actions
from fedgroup.rules import passwords
from tests.conftest import VirtualTime, run_cli
from tests.test_gatherings import ZONE, local
from tests.web_client import WebClient

PASSWORD = "correct horse battery"
MEMBERS = (("Olu Organizer", "organizer"), ("Mia Member", "member"), ("Noa Member", "member"),
           ("Zed Member", "member"))  # fmt: skip


@pytest.fixture
async def group(make_server):
    server = await make_server(app_options=VirtualTime().options())
    hashed = passwords.hash_password(PASSWORD)
    for name, role in MEMBERS:
        await actions.add_member(server.runtime, name, role, None, hashed)
    clients: list[WebClient] = []

    async def signed_in(name: str | None) -> WebClient:
        c = WebClient(server.base_url)
        clients.append(c)
        if name is not None:
            await c.sign_in(name, PASSWORD)
        return c

    yield server, signed_in
    for c in clients:
        await c.close()


def form(**changes: str) -> dict[str, str]:
    fields = {"title": "Stall at the school fair", "description": "Leaflets and lemonade.",
              "starts": local(5, 11), "ends": local(5, 15), "timezone": ZONE, "place": "School yard",
              "latitude": "", "longitude": "", "online_url": "", "capacity": "2", "campaign": "",
              "visibility": "public"}  # fmt: skip
    fields.update(changes)
    return fields


async def test_members_rsvp_past_the_capacity_onto_the_waiting_list_and_a_freed_place_moves_it(group):
    server, signed_in = group
    olu = await signed_in("Olu Organizer")

    bad = await olu.post("/organize/gatherings/new", form(ends=local(5, 9), latitude="95", longitude="3"))
    assert bad.status == 422 and 'class="error-summary"' in bad.text
    assert 'id="ends-error"' in bad.text and 'aria-invalid="true"' in bad.text
    assert 'value="Stall at the school fair"' in bad.text  # what was typed stays
    created = await olu.post("/organize/gatherings/new", form())
    assert created.status == 200 and re.search(r"/gatherings/\d+\?done=gathering-created$", created.url)
    gathering = created.url.split("?")[0].removeprefix(server.base_url)
    assert "Stall at the school fair" in created.text and "0 of 2 places taken" in created.text

    answers = {}
    for name in ("Mia Member", "Noa Member", "Zed Member"):
        client = await signed_in(name)
        page = await client.post(f"{gathering}/rsvp", {"answer": "going"}, csrf_from=gathering)
        answers[name] = (client, page)
    assert "You are going" in answers["Mia Member"][1].text
    assert "You are going" in answers["Noa Member"][1].text
    zed_page = answers["Zed Member"][1]
    assert "<strong>on the waiting list</strong>" in (await answers["Zed Member"][0].get("/home")).text
    assert "you are on the waiting list" in zed_page.text.lower() and "2 of 2 places taken" in zed_page.text
    assert "1 on the waiting list" in zed_page.text

    mia = answers["Mia Member"][0]
    left = await mia.post(f"{gathering}/rsvp", {"answer": "not-going"}, csrf_from=gathering)
    assert "You are not going" in left.text
    zed = answers["Zed Member"][0]
    assert "<strong>You are going.</strong>" in (await zed.get(gathering)).text
    home = (await zed.get("/home")).text  # a member promoted from the waiting list sees it on their home page
    assert re.search(r"Stall at the school fair</a>: [^<]+ — <strong>you are going</strong>", home)
    bad_answer = await mia.post(f"{gathering}/rsvp", {"answer": "maybe"}, csrf_from=gathering)
    assert bad_answer.status == 422 and 'id="answer-error"' in bad_answer.text

    # Visitors see numbers, never names; organizers see which members come.
    visitor = await signed_in(None)
    public = await visitor.get(gathering)
    assert public.status == 200 and "2 of 2 places taken" in public.text
    for name in ("Noa Member", "Zed Member", "Mia Member"):
        assert name not in public.text
    organize = await olu.get(f"/organize{gathering}")
    assert (
        "Noa Member" in organize.text and "Zed Member" in organize.text and "Mia Member" not in organize.text
    )

    assert "Stall at the school fair" in (await visitor.get("/groups/water")).text  # the group page lists it
    ics = await visitor.get(f"{gathering}/calendar.ics")
    assert ics.status == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    (event,) = icalendar.Calendar.from_ical(ics.text).walk("VEVENT")
    assert str(event["summary"]) == "Stall at the school fair" and str(event["location"]) == "School yard"

    # Cancelled: said on the page; RSVPs are refused with the reason.
    cancelled = await olu.post(f"/organize{gathering}/cancel", {}, csrf_from=f"/organize{gathering}")
    assert (
        cancelled.url.endswith("done=gathering-cancelled") and "<strong>Cancelled.</strong>" in cancelled.text
    )
    assert "Cancelled" in (await visitor.get("/gatherings")).text
    refused = await olu.post_raw(f"{gathering}/rsvp", [("answer", "going"), ("csrf", cancelled.csrf)])
    assert refused.status == 422 and "cancelled" in refused.text


async def test_members_only_gatherings_are_for_members_and_the_visibility_stays(group):
    server, signed_in = group
    olu = await signed_in("Olu Organizer")
    created = await olu.post("/organize/gatherings/new", form(visibility="members", title="Planning meeting"))
    gathering = created.url.split("?")[0].removeprefix(server.base_url)
    visitor = await signed_in(None)
    assert "Planning meeting" not in (await visitor.get("/gatherings")).text
    assert (await visitor.get(gathering)).status == 404  # as for a members' campaign: no such thing
    assert (await visitor.get(f"{gathering}/calendar.ics")).status == 404
    assert "Planning meeting" not in (await visitor.get("/groups/water")).text
    mia = await signed_in("Mia Member")
    assert "Planning meeting" in (await mia.get("/gatherings")).text
    assert "Planning meeting" in (await mia.get("/groups/water")).text
    assert (await mia.get(f"/organize{gathering}")).status == 403
    changed = await olu.post(f"/organize{gathering}/edit", form(visibility="public", title="Planning meeting"),
                             csrf_from=f"/organize{gathering}")  # fmt: skip
    assert changed.status == 422 and 'id="visibility-error"' in changed.text


async def test_the_command_line_creates_lists_shows_and_cancels(group, tmp_path):
    server, _ = group
    data_dir = str(server.config.data_dir)
    made = await run_cli(
        "gathering", "create", "--title", "Community hall meeting", "--starts", local(3, 19),
        "--ends", local(3, 21), "--timezone", ZONE, "--place", "Community hall", "--capacity", "30",
        "--by", "Olu Organizer", "--data-dir", data_dir,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    assert re.fullmatch(re.escape(server.url("/gatherings/")) + r"\d+", url)
    number = url.rsplit("/", 1)[1]
    listed = await run_cli("gathering", "list", "--data-dir", data_dir)
    assert "Community hall meeting" in listed.stdout and "0/30 going" in listed.stdout
    shown = await run_cli("gathering", "show", number, "--data-dir", data_dir)
    assert "(Europe/Madrid)" in shown.stdout and "where: Community hall" in shown.stdout
    edited = await run_cli("gathering", "edit", number, "--place", "Library", "--data-dir", data_dir)
    assert edited.returncode == 0, edited.stderr
    assert "where: Library" in (await run_cli("gathering", "show", number, "--data-dir", data_dir)).stdout
    out = tmp_path / "meeting.ics"
    assert (
        await run_cli("gathering", "ics", number, "--to", str(out), "--data-dir", data_dir)
    ).returncode == 0
    assert icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")[0]["location"] == "Library"
    bad = await run_cli("gathering", "create", "--title", "x", "--starts", "tomorrow", "--ends", local(3, 21),
                        "--place", "Hall", "--data-dir", data_dir)  # fmt: skip
    assert bad.returncode != 0 and "not a date and time" in bad.stderr and "Traceback" not in bad.stderr
    cancelled = await run_cli("gathering", "cancel", number, "--data-dir", data_dir)
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout
    assert "cancelled" in (await run_cli("gathering", "show", number, "--data-dir", data_dir)).stdout


async def test_gatherings_are_in_the_groups_calendar_and_each_members_private_one(group):
    """The public calendar holds public gatherings (a cancelled one marked CANCELLED); a member's private
    calendar every gathering they may see, with their own answer and nobody else's."""
    from tests.test_feeds import _make_link

    server, signed_in = group
    runtime = server.runtime
    fair = await actions.create_gathering(
        runtime, None, actions.GatheringForm(**form(online_url="https://meet.example/fair"))
    )
    planning = await actions.create_gathering(
        runtime, None, actions.GatheringForm(**form(title="Planning meeting", visibility="members"))
    )
    visitor = await signed_in(None)
    public = await visitor.get("/calendar.ics")
    events = {str(e["summary"]): e for e in icalendar.Calendar.from_ical(public.text).walk("VEVENT")}
    assert set(events) == {"Stall at the school fair"}, "members-only gatherings stay out of the public one"
    fair_event = events["Stall at the school fair"]
    assert (
        str(fair_event["uid"]).startswith(f"gathering-{fair}@")
        and str(fair_event["location"]) == "School yard"
    )
    assert (
        str(fair_event["url"]) == server.url(f"/gatherings/{fair}")
        and str(fair_event["status"]) == "CONFIRMED"
    )
    assert "Online: https://meet.example/fair" in str(fair_event["description"])

    mia = await signed_in("Mia Member")
    noa = await signed_in("Noa Member")
    await actions.member_rsvp(runtime, planning, (await actions.member_named(runtime, "Mia Member")).id, True)
    await actions.member_rsvp(runtime, fair, (await actions.member_named(runtime, "Noa Member")).id, True)
    _, ics_url = await _make_link(mia)
    async with mia.session.get(ics_url) as r:
        mine = {str(e["summary"]): e for e in icalendar.Calendar.from_ical(await r.read()).walk("VEVENT")}
    assert set(mine) == {"Stall at the school fair", "Planning meeting"}
    assert "You are going." in str(mine["Planning meeting"]["description"])
    assert "going" not in str(mine["Stall at the school fair"]["description"]), "Noa's answer is Noa's"
    assert "Noa" not in str(mine) and "Mia" not in str(mine)
    await noa.close()

    await actions.cancel_gathering(runtime, fair)
    public = await visitor.get("/calendar.ics")
    [cancelled] = icalendar.Calendar.from_ical(public.text).walk("VEVENT")
    assert str(cancelled["status"]) == "CANCELLED"
