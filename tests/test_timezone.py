"""The group's time zone: deadlines are entered and shown in local time, and federate in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from fedgroup import actions
from fedgroup.rules import passwords, timezones
from tests.conftest import run_cli
from tests.test_cli import run
from tests.test_federation import follow
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


async def test_a_deadline_entered_as_18_00_in_madrid_federates_as_17_00z_and_shows_as_18_00(make_server, peer):
    server = await make_server(timezone="Europe/Madrid")
    runtime = server.runtime
    await follow(peer, peer.add_actor("alice", "peer-1"), server)
    await actions.add_member(runtime, "Olu Organizer", "organizer", None, passwords.hash_password(PASSWORD))
    organizer = WebClient(server.base_url)
    try:
        await organizer.sign_in("Olu Organizer", PASSWORD)
        form_page = await organizer.get("/organize/campaigns/new")
        assert "Europe/Madrid time" in form_page.text, "the form says which time the field is in"
        created = await organizer.post("/organize/campaigns/new", {
            "title": "Winter coats", "body": "Coats for the shelter.", "goal_items": "40", "unit_items": "coats",
            "goal_money": "", "option_label_0": "One coat", "option_kind_0": "items", "option_amount_0": "1",
            "option_label_1": "Two coats", "option_kind_1": "items", "option_amount_1": "2",
            "deadline": "2027-01-15T18:00", "visibility": "public",
        })  # fmt: skip
        assert created.status == 200 and "The campaign is created" in created.text, created.text
        campaign_id = int(re.search(r"/organize/campaigns/(\d+)", created.url).group(1))
        state = await runtime.db.read(actions.load_campaign, campaign_id)
        assert state.row.deadline == datetime(2027, 1, 15, 17, 0, tzinfo=UTC)

        received = await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create")
        question = received[0].json["object"]
        assert question["endTime"] == "2027-01-15T17:00:00Z"

        page = await WebClient(server.base_url).get(f"/campaigns/{campaign_id}")
        assert "15 January 2027, 18:00 (Europe/Madrid)" in page.text
        assert 'datetime="2027-01-15T17:00:00+00:00"' in page.text, "machine-readable time keeps its offset"
        edit_form = await organizer.get(f"/organize/campaigns/{campaign_id}")
        assert 'value="2027-01-15T18:00"' in edit_form.text, "the edit form shows the local time it was given"
        # Summer time: 18:00 in July is 16:00Z.
        await organizer.post(f"/organize/campaigns/{campaign_id}/edit", {"title": "Winter coats", "body": "B",
                             "target_items": "40", "deadline": "2027-07-01T18:00"},
                             csrf_from=f"/organize/campaigns/{campaign_id}")  # fmt: skip
        state = await runtime.db.read(actions.load_campaign, campaign_id)
        assert state.row.deadline == datetime(2027, 7, 1, 16, 0, tzinfo=UTC)
        # A time the clocks skip does not exist there: refused, not guessed.
        skipped = await organizer.post(f"/organize/campaigns/{campaign_id}/edit", {"title": "Winter coats",
                                       "body": "B", "target_items": "40", "deadline": "2027-03-28T02:30"},
                                       csrf_from=f"/organize/campaigns/{campaign_id}")  # fmt: skip
        assert skipped.status == 422 and "does not exist in Europe/Madrid" in skipped.text
    finally:
        await organizer.close()


async def test_an_admin_changes_the_time_zone_and_pages_follow(make_server):
    server = await make_server()
    runtime = server.runtime
    await actions.add_member(runtime, "Ada Admin", "admin", None, passwords.hash_password(PASSWORD))
    campaign_id = await actions.create_campaign(
        runtime, "Coats", "b", deadline=datetime(2027, 1, 15, 17, 0, tzinfo=UTC)
    )
    admin = WebClient(server.base_url)
    try:
        await admin.sign_in("Ada Admin", PASSWORD)
        assert "15 January 2027, 17:00 (UTC)" in (await admin.get(f"/campaigns/{campaign_id}")).text
        bad = await admin.post("/admin/group", {"name": "Group A", "summary": "", "timezone": "Mars/Olympus"})
        assert bad.status == 422 and "not a time zone name" in bad.text
        saved = await admin.post("/admin/group", {"name": "Group A", "summary": "", "timezone": "America/Chicago"})
        assert saved.status == 200 and "Saved." in saved.text
        assert "15 January 2027, 11:00 (America/Chicago)" in (await admin.get(f"/campaigns/{campaign_id}")).text
        public = await WebClient(server.base_url).get(f"/campaigns/{campaign_id}")
        assert "11:00 (America/Chicago)" in public.text, "the kept public page is rendered afresh"
    finally:
        await admin.close()


def test_init_takes_a_time_zone_and_refuses_an_unknown_one(tmp_path):
    bad = run("init", "--data-dir", str(tmp_path / "x"), "--base-url", "https://x.example", "--name", "N",
              "--timezone", "Europe/Atlantis")  # fmt: skip
    assert bad.returncode == 2 and "not a time zone name" in bad.stderr and not (tmp_path / "x").exists()
    good = run("init", "--data-dir", str(tmp_path / "y"), "--base-url", "https://x.example", "--name", "N",
               "--timezone", "Europe/Madrid")  # fmt: skip
    assert good.returncode == 0, good.stderr


@pytest.mark.parametrize("zone", ["Europe/Madrid", "America/Chicago", "Asia/Kolkata", "UTC"])
def test_local_times_round_trip(zone):
    moment = timezones.from_local("2027-01-15T18:00", zone)
    assert timezones.to_local_input(moment, zone) == "2027-01-15T18:00"


async def test_the_command_line_reads_a_deadline_without_offset_as_local_time(make_server):
    server = await make_server(timezone="Europe/Madrid")
    result = await run_cli("campaign", "create", "--data-dir", str(server.config.data_dir), "--title", "T",
                           "--body", "B", "--deadline", "2027-01-15T18:00")  # fmt: skip
    assert result.returncode == 0, result.stderr
    campaign_id = int(result.stdout.strip().rsplit("/", 1)[1])
    state = await server.runtime.db.read(actions.load_campaign, campaign_id)
    assert state.row.deadline == datetime(2027, 1, 15, 17, 0, tzinfo=UTC)
