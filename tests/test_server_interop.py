"""What real servers were seen to do with fedgroup's campaigns (INTEROP-NOTES), and what we send so each
shows a campaign once, unfolded, with a poll that stays right: no `name` (GoToSocial and Takahē show it as a
content warning, Misskey as a heading), no one-option poll (Takahē never receives it), `endTime` moved on
closing (Takahē ignores `closed`), and the poll's state sent to a voter whose vote came after closing
(Misskey ignores `closed` and a moved `endTime`).

Each test drives a live server and observes what reaches the Mastodon-shaped peer, signed.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from fedgroup import actions, store
from fedgroup.protocol.parse_campaigns import parse_partner_campaign
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import MovableClock, eventually, inbox_handled
from tests.peer import FakeMastodon
from tests.test_coalition import vote
from tests.test_federation import PUBLIC, follow

TITLE = "Paint the crossing <today>"


def is_create_of(received, title: str) -> bool:
    json = received.json
    return bool(json) and json.get("type") == "Create" and json["object"].get("campaignTitle") == title


def created(peer: FakeMastodon, title: str) -> list:
    return [r for r in peer.received if is_create_of(r, title)]


async def test_campaigns_carry_no_name_and_show_their_title_once_with_a_poll_only_from_two_options(
    make_server, peer
):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    runtime = server.runtime
    deadline = datetime.now(UTC) + timedelta(days=3)
    hours = [parse_goal("hours:40")]
    await actions.create_campaign(
        runtime, TITLE, "Bring brushes.", goals=hours, deadline=deadline,
        options=[parse_option("Paint=hours:2"), parse_option("Sweep=hours:1")],
    )  # fmt: skip
    await actions.create_campaign(
        runtime, "One way to help", "Bring brushes.", goals=hours, deadline=deadline,
        options=[parse_option("Paint=hours:2")],
    )  # fmt: skip
    await actions.create_campaign(runtime, "No options", "Just come.", goals=hours)

    for title in (TITLE, "One way to help", "No options"):
        [create] = await peer.wait_for(lambda r, t=title: is_create_of(r, t))
        assert create.verified is True
        obj = create.json["object"]
        assert "name" not in obj and "summary" not in obj, (
            "nothing a server would show as a warning or heading"
        )
        assert obj["campaignTitle"] == title
        heading = f"<p><strong>{html.escape(title)}</strong></p>"
        assert obj["content"].startswith(heading) and obj["content"].count(html.escape(title)) == 1
        assert obj["sensitive"] is False
        # The fedgroup term is defined in the document itself, so no one has to fetch a context.
        terms = create.json["@context"][1]
        assert terms["campaignTitle"] == "fedgroup:campaignTitle"
        assert terms["fedgroup"] == "https://w3id.org/fedgroup/ns#"

    [poll] = [r.json["object"] for r in created(peer, TITLE)]
    assert poll["type"] == "Question" and [o["name"] for o in poll["oneOf"]] == ["Paint", "Sweep"]

    # One option: a Note (Takahē's JSON-LD compaction would turn a one-item oneOf into a bare object and
    # drop the post); partners still learn the option from pledgeOptions, and the deadline from endTime.
    [single] = [r.json["object"] for r in created(peer, "One way to help")]
    assert single["type"] == "Note"
    assert "oneOf" not in single and "anyOf" not in single and "votersCount" not in single
    assert single["pledgeOptions"] == [{"name": "Paint", "kind": "hours", "amount": "2"}]
    assert single["endTime"] == poll["endTime"] == deadline.strftime("%Y-%m-%dT%H:%M:%SZ")

    [plain] = [r.json["object"] for r in created(peer, "No options")]
    assert plain["type"] == "Note" and "pledgeOptions" not in plain and "endTime" not in plain


def test_a_partner_campaign_title_is_read_from_fedgroup_s_term_and_from_older_peers_name():
    base = {
        "id": "https://coats.example/campaigns/1",
        "type": "Note",
        "attributedTo": "https://coats.example/groups/coats",
        "content": "<p><strong>Winter coats</strong></p>",
        "to": [PUBLIC],
    }
    assert parse_partner_campaign({**base, "campaignTitle": "Winter coats"}).title == "Winter coats"
    assert parse_partner_campaign({**base, "name": "Winter coats"}).title == "Winter coats", "older fedgroup"
    both = {**base, "name": "Old", "campaignTitle": "New"}
    assert parse_partner_campaign(both).title == "New"
    assert parse_partner_campaign({**base, "campaignTitle": "  ", "name": "Fallback"}).title == "Fallback"


async def test_closing_early_moves_end_time_to_the_closing_time_in_every_update(make_server, peer):
    clock = MovableClock()
    server = await make_server(app_options={"clock": clock})
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    runtime = server.runtime
    deadline = clock() + timedelta(days=10)
    campaign_id = await actions.create_campaign(
        runtime, "Coats", "For the shelter", goals=[parse_goal("items:40:coats")], deadline=deadline,
        options=[parse_option("One coat=items:1"), parse_option("Two coats=items:2")],
    )  # fmt: skip
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create")
    clock.advance(timedelta(days=1))
    assert await actions.close_campaign(runtime, campaign_id)
    await actions.report_outcome(runtime, campaign_id, "We collected 12 coats.")

    state = await runtime.db.read(actions.load_campaign, campaign_id)
    closed_at = state.row.closed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert state.row.closed_at < deadline
    await eventually(lambda: _queue_empty(runtime))
    updates = [r.json["object"] for r in peer.received if r.json and r.json.get("type") == "Update"]
    # The close, then the outcome; or only the outcome's when the close's Update was still queued for alice's
    # inbox and was replaced by it (each Update restates the whole Question: a loaded machine showed one).
    assert 1 <= len(updates) <= 2 and updates[-1]["outcome"] == "We collected 12 coats."
    for question in updates:
        assert question["closed"] == closed_at
        assert question["endTime"] == closed_at, "Takahē shows the poll open until endTime, not closed"
        assert question["campaignStatus"] == "closed"


async def test_a_late_vote_is_answered_with_the_poll_s_state_to_that_voter_only(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")  # votes after closing, as a Misskey user can
    carol = peer.add_actor("carol", "peer-3")  # votes while it is open
    options = [parse_option("One coat=items:1"), parse_option("Two coats=items:2")]
    goals = [parse_goal("items:40:coats")]
    public = await actions.create_campaign(runtime, "Coats", "For the shelter", goals=goals, options=options)
    question_id = runtime.ids.campaign(public)
    group = server.url("/groups/water")
    inbox = server.url("/groups/water/inbox")

    counted = vote(carol, question_id, group, "One coat")
    assert (await peer.post(carol, inbox, counted))[0] == 202

    async def pledgers() -> int:
        state = await runtime.db.read(actions.load_campaign, public)
        return state.tally.pledgers

    await eventually(lambda: _equals(pledgers, 1))
    assert await actions.close_campaign(runtime, public)
    await eventually(lambda: _queue_empty(runtime))
    before = len(peer.received)

    late = vote(alice, question_id, group, "Two coats")
    assert (await peer.post(alice, inbox, late))[0] == 202
    [answer] = await peer.wait_for(
        lambda r: r.json and r.json.get("type") == "Update" and r.json["to"] == [alice.id]
    )
    assert answer.path == "/users/alice/inbox", "to the voter's own inbox, not the shared one"
    assert answer.verified is True
    assert answer.json["to"] == [alice.id] and answer.json["cc"] == []
    question = answer.json["object"]
    assert question["id"] == question_id and question["closed"] and question["endTime"] == question["closed"]
    assert {o["name"]: o["replies"]["totalItems"] for o in question["oneOf"]} == {
        "One coat": 1,
        "Two coats": 0,
    }
    assert await pledgers() == 1, "the late vote is not counted"
    assert [r for r in peer.received[before:] if r.json and r.json.get("type") == "Update"] == [answer], (
        "nobody else hears of it"
    )
    # The activity is served to the voter's server only.
    status, _ = await peer.get(alice, answer.json["id"])
    assert status == 200
    outsider = FakeMastodon(keys=peer.keys)
    await outsider.start()
    try:
        dave = outsider.add_actor("dave", "peer-4")
        assert (await outsider.get(dave, answer.json["id"]))[0] == 404
    finally:
        await outsider.stop()

    # Rate-limited per voter: a burst of late votes buys a few answers, not one each.
    for _ in range(6):
        again = vote(alice, question_id, group, "Two coats")
        assert (await peer.post(alice, inbox, again))[0] == 202
        await eventually(lambda a=again: inbox_handled(runtime, a["id"]))
    await eventually(lambda: _queue_empty(runtime))
    answers = [
        r for r in peer.received if r.json and r.json.get("type") == "Update" and r.json["to"] == [alice.id]
    ]
    assert len(answers) == 4, "the first answer and three more from the burst, then one a minute"


async def test_a_late_vote_on_a_followers_only_campaign_tells_a_non_follower_nothing(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    bob = peer.add_actor("bob", "peer-2")
    options = [parse_option("One coat=items:1"), parse_option("Two coats=items:2")]
    private = await actions.create_campaign(
        runtime, "Coats", "For friends", goals=[parse_goal("items:40:coats")], options=options,
        visibility="followers",
    )  # fmt: skip
    assert await actions.close_campaign(runtime, private)
    late = vote(bob, runtime.ids.campaign(private), server.url("/groups/water"), "One coat")
    assert (await peer.post(bob, server.url("/groups/water/inbox"), late))[0] == 202
    await eventually(lambda: inbox_handled(runtime, late["id"]))
    await eventually(lambda: _queue_empty(runtime))
    assert not any(r.json and r.json.get("type") == "Update" for r in peer.received), (
        "a followers-only campaign goes to no one else, closed or not"
    )


async def _equals(check, expected) -> bool:
    return await check() == expected


async def _queue_empty(runtime) -> bool:
    return await runtime.db.read(store.outbox.pending_count) == 0
