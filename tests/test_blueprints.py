"""Blueprints across live servers: A publishes a case study of a finished campaign; B adopts it, runs it and
publishes its outcome; C adopts B's adoption. A's page then counts both, with combined totals. A fourth
party (D, a Mastodon-shaped server with a Group actor) forges lineage reports: they change nothing. Canary
strings in every member field must appear in no request any server received.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import aiohttp
import orjson
import pytest

from fedgroup import actions, store
from fedgroup.actions import blueprints as blueprint_actions
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import database_snapshot, eventually, inbox_handled, run_cli

AS = "https://www.w3.org/ns/activitystreams"
CONTEXT = [AS, {"fedgroup": "https://w3id.org/fedgroup/ns#"}]
GIVE = "Give €20"
LEAFLET = "Leaflet for 2 hours"
# name, email, pledge note: one set per server
CANARIES = {
    "a": ("Canary Anna q7zx", "canary.q7zx@crossing.example", "canary note q7zx: key under the mat"),
    "b": ("Canary Bo w3mv", "canary.w3mv@tenants.example", "canary note w3mv: flat 2A"),
    "c": ("Canary Cy k8rd", "canary.k8rd@market.example", "canary note k8rd: my phone 0155"),
}


async def canary_member(runtime, which: str, role: str = "member") -> int:
    name, email, _ = CANARIES[which]
    return await actions.add_member(runtime, name, role, email, passwords.hash_password("canary pw 1234"))


async def run_and_finish(
    runtime, campaign_id: int, which: str, option: str, fulfil: bool, report: str
) -> None:
    """A member pledges (with a note), the pledge is marked given or not, and the outcome is published."""
    member = await canary_member(runtime, which)
    await actions.pledge(runtime, member, campaign_id, option=option, note=CANARIES[which][2])
    other = await actions.add_member(runtime, f"Helper {which}", "member")
    await actions.pledge(runtime, other, campaign_id, kind="hours", amount="3", note=CANARIES[which][2])
    for p in await runtime.db.read(store.pledges.pledges_for_campaign, campaign_id):
        if p.member_id == member:
            await actions.set_fulfilled(runtime, p.id, fulfil)
    await actions.report_outcome(runtime, campaign_id, report)


async def adoptions(server, number: int) -> list[store.blueprints.Adoption]:
    return await server.runtime.db.read(store.blueprints.adoptions, number)


async def following_accepted(follower, group_id: str) -> bool:
    following = await follower.runtime.db.read(store.follows.following_of, group_id)
    return following is not None and following.state == "accepted"


async def unsigned_page(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, url
        return await response.text()


def adopt_activity(actor, campaign: str, blueprint: str, results: list | None = None) -> dict:
    doc = {
        "@context": CONTEXT,
        "id": f"{actor.id}/adopts/{uuid.uuid4()}",
        "type": "Adopt",
        "actor": actor.id,
        "object": campaign,
        "target": blueprint,
        "to": [blueprint.split("/blueprints/")[0]],
    }
    if results is not None:
        doc["results"] = results
    return doc


async def forge(peer, actor, server, activity: dict) -> None:
    status, text = await peer.post(actor, server.url("/groups/crossing/inbox"), activity)
    assert status == 202, text
    assert await eventually(lambda: inbox_handled(server.runtime, activity["id"])) == "done"


async def test_a_blueprint_adopted_twice_down_a_chain_counts_both_and_ignores_forgeries(make_server, peer):
    recorded: list = []
    a = await make_server("a", handle="crossing", recorded=recorded)
    b = await make_server("b", handle="tenants", recorded=recorded)
    c = await make_server("c", handle="market", recorded=recorded)
    a_group = a.url("/groups/crossing")

    # B follows A: A's blueprint reaches B's list of partners' blueprints.
    await actions.follow_group(b.runtime, await b.runtime.actors.actor(a_group))
    await eventually(lambda: following_accepted(b, a_group))

    # A runs a campaign to its end and publishes its blueprint.
    a_campaign = await actions.create_campaign(
        a.runtime, "A safe crossing", "Four lanes and no crossing.",
        goals=[parse_goal("money:20:EUR"), parse_goal("hours:3")],
        options=[parse_option(f"{GIVE}=money:20"), parse_option(f"{LEAFLET}=hours:2")],
    )  # fmt: skip
    await run_and_finish(a.runtime, a_campaign, "a", GIVE, True, "The council painted the crossing.")
    a_number = await blueprint_actions.publish_blueprint(
        a.runtime, a_campaign, title="How we won a crossing", summary="Petition, then a council visit.",
        what_worked="Leafleting at the school gate.", steps=["Leaflet", "Petition", "Visit the council"],
        do_differently="Start earlier.",
    )  # fmt: skip
    a_blueprint = a.url(f"/blueprints/{a_number}")
    seen = await eventually(lambda: b.runtime.db.read(store.blueprints.partner_blueprints))
    assert [p.object_id for p in seen] == [a_blueprint]

    # B adopts it: a draft, which is nowhere outside B until it is published.
    b_campaign = await blueprint_actions.adopt_blueprint(b.runtime, a_blueprint)
    draft = await b.runtime.db.read(actions.load_campaign, b_campaign)
    assert draft.row.draft and draft.row.adapted_from == a_blueprint
    assert [(g.kind, g.target, g.unit) for g in draft.goals] == [
        ("money", Decimal(20), "EUR"), ("hours", Decimal(3), None)
    ]  # fmt: skip
    assert [o.label for o in draft.options] == [GIVE, LEAFLET]
    alice = peer.add_actor("alice", "peer-1")
    status, _ = await peer.get(alice, b.runtime.ids.campaign(b_campaign))
    assert status == 404
    async with aiohttp.ClientSession() as session, session.get(b.url(f"/campaigns/{b_campaign}")) as page:
        assert page.status == 404
    assert await adoptions(a, a_number) == []

    await blueprint_actions.edit_draft(
        b.runtime, b_campaign, title="A safe crossing on Elm Street", body="Our own street.",
        goals=[parse_goal("money:300:GBP"), parse_goal("hours:30")],
        options=[parse_option("Give £20=money:20"), parse_option(f"{LEAFLET}=hours:2")],
    )  # fmt: skip
    await blueprint_actions.publish_draft(b.runtime, b_campaign)
    b_campaign_url = b.runtime.ids.campaign(b_campaign)
    found = await eventually(lambda: adoptions(a, a_number))
    assert [(x.campaign_object, x.adopter_group, x.via, x.results) for x in found] == [
        (b_campaign_url, b.url("/groups/tenants"), None, None)
    ]
    status, doc = await peer.get(alice, b_campaign_url)
    assert status == 200 and doc["adaptedFrom"] == a_blueprint

    # B runs it and publishes its outcome: its totals go back to A.
    await run_and_finish(b.runtime, b_campaign, "b", "Give £20", True, "Done on Elm Street.")

    async def b_results():
        return [x for x in await adoptions(a, a_number) if x.results]

    assert (await eventually(b_results))[0].succeeded is False  # £20 of £300

    # B publishes a blueprint of its own campaign; C adopts that one (an adoption of an adoption).
    b_number = await blueprint_actions.publish_blueprint(
        b.runtime, b_campaign, title="Elm Street's crossing", summary="We followed Mill Road's plan."
    )
    b_blueprint = b.url(f"/blueprints/{b_number}")
    fetched = await blueprint_actions.fetch_blueprint(c.runtime, b_blueprint)
    assert [link["blueprint"] for link in fetched.lineage] == [b_blueprint, a_blueprint]
    c_campaign = await blueprint_actions.adopt_blueprint(c.runtime, b_blueprint, unlisted=True)
    await blueprint_actions.publish_draft(c.runtime, c_campaign)
    c_campaign_url = c.runtime.ids.campaign(c_campaign)

    async def two():
        found = await adoptions(a, a_number)
        return found if len(found) == 2 else None

    a_adoptions = await eventually(two)
    c_row = next(x for x in a_adoptions if x.campaign_object == c_campaign_url)
    assert c_row.via == b_blueprint and c_row.unlisted
    assert [x.campaign_object for x in await eventually(lambda: adoptions(b, b_number))] == [c_campaign_url]
    await run_and_finish(c.runtime, c_campaign, "c", "Give £20", False, "Half done.")

    async def c_results():
        return [x for x in await adoptions(a, a_number) if x.results and x.campaign_object == c_campaign_url]

    await eventually(c_results)

    # D forges lineage reports: none of them is counted.
    dgroup = peer.add_actor("dgroup", "peer-4", actor_type="Group")

    async def a_is_quiet() -> bool:
        """A has published every change of its totals and delivered everything: its own scheduler writes
        nothing while the forgeries arrive (under load it published a totals Update between the snapshots)."""
        unpublished = await a.runtime.db.fetchall(
            "SELECT id FROM campaigns WHERE deleted_at IS NULL AND draft = 0 AND visibility != 'members'"
            " AND totals_changed_at IS NOT NULL"
            " AND (totals_published_at IS NULL OR totals_changed_at > totals_published_at)"
        )
        pending = await a.runtime.db.fetchall("SELECT id FROM deliveries WHERE given_up_at IS NULL")
        return not unpublished and not pending

    await eventually(a_is_quiet, timeout=60)
    before = await database_snapshot(a.runtime)
    plain_campaign = f"{peer.base_url}/users/dgroup/campaigns/1"
    peer.served_documents[plain_campaign.removeprefix(peer.base_url)] = {
        "@context": CONTEXT, "id": plain_campaign, "type": "Note", "attributedTo": dgroup.id,
        "content": "ours", "goals": [{"kind": "money", "target": "100", "unit": "EUR", "pledged": "0"}],
    }  # fmt: skip
    fake_blueprint = f"{peer.base_url}/users/dgroup/blueprints/1"
    peer.served_documents[fake_blueprint.removeprefix(peer.base_url)] = orjson.loads(
        orjson.dumps(
            {**(await peer.get(alice, b_blueprint))[1], "id": fake_blueprint, "attributedTo": dgroup.id,
             "adaptedFrom": a_blueprint}
        )
    )  # fmt: skip
    chained_campaign = f"{peer.base_url}/users/dgroup/campaigns/2"
    peer.served_documents[chained_campaign.removeprefix(peer.base_url)] = {
        **peer.served_documents[plain_campaign.removeprefix(peer.base_url)], "id": chained_campaign,
        "adaptedFrom": fake_blueprint,
    }  # fmt: skip
    huge = [{"kind": "money", "unit": "GBP", "target": "300", "pledged": "1000000", "fulfilled": "1000000"}]
    for forged in (
        adopt_activity(dgroup, c_campaign_url, a_blueprint),  # someone else's campaign, on another host
        adopt_activity(dgroup, plain_campaign, a_blueprint),  # a campaign that adapts nothing
        adopt_activity(
            dgroup, chained_campaign, a_blueprint
        ),  # through a blueprint of a group we never counted
        adopt_activity(dgroup, plain_campaign, a.url("/blueprints/99")),  # no such blueprint
        adopt_activity(dgroup, b_campaign_url, a_blueprint, huge),  # B's campaign, D's inflated totals
    ):
        await forge(peer, dgroup, a, forged)
    after = await database_snapshot(a.runtime)
    received = ("inbox_activities", "remote_actors")  # the forged requests themselves, and D's key
    assert {k: v for k, v in after.items() if k not in received} == {
        k: v for k, v in before.items() if k not in received
    }

    # A's page: adopted by 2 groups, combined results of 3.
    page = await unsigned_page(a_blueprint)
    assert "Adopted by 2 groups" in page
    assert "3 groups ran it; 3 finished, 1 succeeded." in page
    assert "A safe crossing on Elm Street" in page  # B's campaign, listed
    assert c_campaign_url not in page  # C stays unlisted
    # A (succeeded): €20 pledged and given, 3 hours. B: £20 given; C: £20 pledged, none given; 3 hours each.
    assert "€20 pledged, €20 given" in page
    assert "£40 pledged, £20 given" in page
    assert "9 hours pledged, 0 hours given" in page
    b_page = await unsigned_page(b_blueprint)
    assert "Adopted by 1 group" in b_page and "2 groups ran it" in b_page

    # An organizer of A hides B: B is neither listed nor counted (C, which came through B, still is).
    b_row = next(x for x in a_adoptions if x.campaign_object == b_campaign_url)
    await blueprint_actions.hide_adoption(a.runtime, b_row.id)
    page = await unsigned_page(a_blueprint)
    assert "Adopted by 1 group" in page and "Elm Street" not in page

    # No member's name, email or note is in any request any server received, nor on the public pages.
    for r in recorded + peer.received:
        text = r.body.decode("utf-8", "replace") + r.url if hasattr(r, "url") else r.body.decode()
        for name, email, note in CANARIES.values():
            assert name not in text and email not in text and note not in text, r
    for text in (page, b_page):
        for name, email, note in CANARIES.values():
            assert name not in text and email not in text and note not in text


@pytest.mark.parametrize(
    ("mutation", "reason"),
    [
        (lambda doc: doc["template"].update(goals=[{"kind": "votes", "target": "3"}]), "bad-template"),
        (
            lambda doc: doc["template"].update(
                pledgeOptions=[{"name": f"o{i}", "kind": "money", "amount": "1"} for i in range(500)]
            ),
            "too-many-items",
        ),  # fmt: skip
        (lambda doc: doc["template"]["goals"][0].update(unit="XXX"), "bad-template"),
        (lambda doc: doc["template"].update(campaignTitle="x" * 5000), "bad-template"),
        (lambda doc: doc.update(type="Article"), "not-a-blueprint"),
    ],
)
async def test_an_invalid_blueprint_makes_no_draft(make_server, peer, mutation, reason):
    b = await make_server("b", handle="tenants")
    origin = peer.add_actor("origin", "peer-2", actor_type="Group")
    url = f"{peer.base_url}/users/origin/blueprints/1"
    doc = {
        "@context": CONTEXT, "id": url, "type": ["Article", "Blueprint"], "attributedTo": origin.id,
        "name": "<script>alert(1)</script>", "summary": "s", "to": [AS + "#Public"],
        "template": {"campaignTitle": "T", "content": "<b>hi</b>", "goals": [{"kind": "money", "target": "10",
                     "unit": "EUR"}], "pledgeOptions": []},
    }  # fmt: skip
    mutation(doc)
    peer.served_documents[url.removeprefix(peer.base_url)] = doc
    before = await database_snapshot(b.runtime)
    with pytest.raises(actions.ActionError, match=reason):
        await blueprint_actions.adopt_blueprint(b.runtime, url)
    assert (await database_snapshot(b.runtime))["campaigns"] == before["campaigns"]
    assert (await database_snapshot(b.runtime))["adopted_blueprints"] == []


async def test_hostile_text_stays_text_and_unreachable_or_misattributed_blueprints_are_refused(
    make_server, peer
):
    b = await make_server("b", handle="tenants")
    origin = peer.add_actor("origin", "peer-2", actor_type="Group")
    person = peer.add_actor("someone", "peer-3")
    url = f"{peer.base_url}/users/origin/blueprints/1"
    doc = {
        "@context": CONTEXT, "id": url, "type": ["Article", "Blueprint"], "attributedTo": origin.id,
        "name": "<script>alert(1)</script>", "summary": "s", "to": [AS + "#Public"],
        "steps": ["<img src=x onerror=alert(1)>"],
        "template": {"campaignTitle": "T", "content": "<b>hi</b>", "goals": [{"kind": "money", "target": "10",
                     "unit": "EUR"}], "pledgeOptions": [{"name": "Give", "kind": "money", "amount": "5"}]},
    }  # fmt: skip
    peer.served_documents[url.removeprefix(peer.base_url)] = doc
    draft = await blueprint_actions.adopt_blueprint(b.runtime, url)
    state = await b.runtime.db.read(actions.load_campaign, draft)
    assert state.row.title == "T" and state.row.body == "<b>hi</b>"  # plain text: escaped where it is shown

    # A server we cannot reach, a document naming another id, and one attributed to a person.
    with pytest.raises(actions.ActionError, match="unreachable|http-status"):
        await blueprint_actions.adopt_blueprint(b.runtime, "http://127.0.0.1:9/blueprints/1")
    moved = f"{peer.base_url}/users/origin/blueprints/2"
    peer.served_documents[moved.removeprefix(peer.base_url)] = doc
    with pytest.raises(actions.ActionError, match="id-mismatch"):
        await blueprint_actions.adopt_blueprint(b.runtime, moved)
    personal = f"{peer.base_url}/users/someone/blueprints/1"
    peer.served_documents[personal.removeprefix(peer.base_url)] = {
        **doc,
        "id": personal,
        "attributedTo": person.id,
    }
    with pytest.raises(actions.ActionError, match="author-not-a-group"):
        await blueprint_actions.adopt_blueprint(b.runtime, personal)
    assert [c.id for c in await b.runtime.db.read(store.campaigns.drafts)] == [draft]


async def test_inflated_totals_are_refused_or_counted_only_up_to_the_goal(make_server, peer):
    a = await make_server("a", handle="crossing")
    campaign = await actions.create_campaign(
        a.runtime, "A safe crossing", "Four lanes.", goals=[parse_goal("money:100:EUR")]
    )
    await actions.report_outcome(a.runtime, campaign, "Done.")
    number = await blueprint_actions.publish_blueprint(a.runtime, campaign, title="Crossing", summary="How.")
    blueprint = a.url(f"/blueprints/{number}")
    dgroup = peer.add_actor("dgroup", "peer-4", actor_type="Group")
    d_campaign = f"{peer.base_url}/users/dgroup/campaigns/1"
    document = {
        "@context": CONTEXT, "id": d_campaign, "type": "Note", "attributedTo": dgroup.id, "content": "ours",
        "adaptedFrom": blueprint, "outcome": "Done", "campaignStatus": "closed",
        "goals": [{"kind": "money", "target": "100", "unit": "EUR", "pledged": "40"}],
    }  # fmt: skip
    peer.served_documents[d_campaign.removeprefix(peer.base_url)] = document

    def results(pledged: str, fulfilled: str) -> list:
        return [{"kind": "money", "unit": "EUR", "target": "100", "pledged": pledged, "fulfilled": fulfilled}]

    # More than its own campaign says, or more given than pledged: the report is dropped whole.
    for lie in (results("1000000", "1000000"), results("40", "41")):
        await forge(peer, dgroup, a, adopt_activity(dgroup, d_campaign, blueprint, lie))
        assert await adoptions(a, number) == []
    # Its campaign itself claims far past its goal: counted, but only up to the goal's target.
    document["goals"][0]["pledged"] = "1000000"
    await forge(peer, dgroup, a, adopt_activity(dgroup, d_campaign, blueprint, results("1000000", "1000000")))
    page = await blueprint_actions.blueprint_page(a.runtime, number)
    assert page.counted == 1
    assert [(line.pledged, line.fulfilled) for line in page.combined.lines] == [(Decimal(100), Decimal(100))]
    assert page.combined.succeeded == 1  # D's counts as reached; ours (€0 of €100) did not


async def test_blueprints_from_the_command_line(make_server):
    """`blueprint publish`, `adopt` (a preview and a draft), `edit-draft`, `publish-draft`, `show`, `hide`."""
    a = await make_server("a", handle="crossing")
    b = await make_server("b", handle="tenants")

    async def cli(*args: str, server=a, ok: bool = True) -> str:
        result = await run_cli("blueprint", *args, "--data-dir", str(server.config.data_dir))
        assert (result.returncode == 0) == ok, result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout if ok else result.stderr

    campaign = await actions.create_campaign(
        a.runtime, "A safe crossing", "Four lanes.", goals=[parse_goal("money:500:EUR")],
        options=[parse_option("Give €20=money:20"), parse_option("Give €50=money:50")],
    )  # fmt: skip
    assert "close the campaign" in await cli(
        "publish", str(campaign), "--title", "T", "--summary", "S", ok=False
    )
    await actions.report_outcome(a.runtime, campaign, "Painted.")
    url = (
        await cli(
            "publish",
            str(campaign),
            "--title",
            "How we won",
            "--summary",
            "A petition.",
            "--step",
            "Leaflet",
            "--step",
            "Petition",
        )  # fmt: skip
    ).strip()
    assert url == a.url("/blueprints/1")

    preview = await cli("adopt", url, server=b)
    assert "How we won" in preview and "1. Leaflet" in preview and "€500" in preview
    assert "draft campaign 1 made" in preview
    assert "A safe crossing" in await cli("drafts", server=b)
    await cli("edit-draft", "1", "--goal", "money:300:GBP", "--title", "Elm Street crossing", server=b)
    assert "a money goal needs an ISO currency" in await cli(
        "edit-draft", "1", "--goal", "money:3:XXX", server=b, ok=False
    )
    assert (await cli("publish-draft", "1", server=b)).strip() == b.runtime.ids.campaign(1)
    assert "no drafts" in await cli("drafts", server=b)
    assert "cannot use" in await cli("adopt", "http://127.0.0.1:9/blueprints/1", server=b, ok=False)

    async def shown() -> str | None:
        out = await cli("show", "1")
        return out if "adopted by 1 group" in out else None

    out = await eventually(shown)
    adoption_id = out.splitlines()[2].split("\t", 1)[0]
    assert f"{b.url('/groups/tenants')}\t{b.runtime.ids.campaign(1)}\trunning" in out
    assert "hidden" in await cli("hide", adoption_id)
    assert "adopted by 0 groups" in await cli("show", "1")


async def test_blueprints_of_followed_groups_only_are_listed_until_deleted(make_server, peer):
    b = await make_server("b", handle="tenants")
    partner = peer.add_actor("partner", "peer-2", actor_type="Group")
    stranger = peer.add_actor("stranger", "peer-3", actor_type="Group")
    await actions.follow_group(b.runtime, await b.runtime.actors.actor(partner.id))
    follow = (await peer.wait_for(lambda r: r.json and r.json.get("type") == "Follow"))[0].json
    accept = {"@context": AS, "id": f"{partner.id}#accepts/1", "type": "Accept", "actor": partner.id,
              "object": follow}  # fmt: skip
    await peer.post(partner, b.url("/groups/tenants/inbox"), accept)
    await eventually(lambda: following_accepted(b, partner.id))

    def create(actor, number: int) -> dict:
        blueprint = {
            "id": f"{actor.id}/blueprints/{number}", "type": ["Article", "Blueprint"], "attributedTo": actor.id,
            "name": f"Blueprint {number}", "summary": "How.", "to": [AS + "#Public"],
            "template": {"campaignTitle": "T", "goals": [{"kind": "hours", "target": "10"}]},
        }  # fmt: skip
        return {"@context": CONTEXT, "id": f"{actor.id}/creates/{number}", "type": "Create", "actor": actor.id,
                "to": [AS + "#Public"], "object": blueprint}  # fmt: skip

    for actor, number in ((partner, 1), (stranger, 2)):
        activity = create(actor, number)
        assert (await peer.post(actor, b.url("/groups/tenants/inbox"), activity))[0] == 202
        assert await eventually(lambda a=activity: inbox_handled(b.runtime, a["id"])) == "done"
    listed = await b.runtime.db.read(store.blueprints.partner_blueprints)
    assert [(x.object_id, x.title) for x in listed] == [(f"{partner.id}/blueprints/1", "Blueprint 1")]
    assert await b.runtime.db.read(store.campaigns.partner_campaigns) == []  # not taken for a campaign

    delete = {"@context": AS, "id": f"{partner.id}/deletes/1", "type": "Delete", "actor": partner.id,
              "object": f"{partner.id}/blueprints/1"}  # fmt: skip
    assert (await peer.post(partner, b.url("/groups/tenants/inbox"), delete))[0] == 202
    assert await eventually(lambda: inbox_handled(b.runtime, delete["id"])) == "done"
    assert await b.runtime.db.read(store.blueprints.partner_blueprints) == []
