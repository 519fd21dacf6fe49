"""Delivered and disclosure through the web UI: "I did it" and the organizer's one-click confirmation, which
pledges to a partner's campaign were kept, the partners' record, small public counts, and the page that says
what others can learn."""

from __future__ import annotations

from fedgroup import actions, store
from fedgroup.protocol import vocab_campaigns
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import eventually
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


async def _people(server, *names_roles) -> dict[str, WebClient]:
    hashed = passwords.hash_password(PASSWORD)
    clients = {}
    for name, role in names_roles:
        await actions.add_member(server.runtime, name, role, None, hashed)
        client = WebClient(server.base_url)
        await client.sign_in(name, PASSWORD)
        clients[name] = client
    return clients


async def test_i_did_it_then_one_click_confirm_and_small_counts_in_public(make_server):
    server = await make_server(min_disclosed_count=3)
    campaign_id = await actions.create_campaign(
        server.runtime, "Spring clean-up", "One morning.", goals=[parse_goal("people:20")],
        options=[parse_option("Come along=people:1"), parse_option("Bring a friend=people:2")],
    )  # fmt: skip
    clients = await _people(server, ("Mia Member", "member"), ("Max Member", "member"), ("Olu", "organizer"))
    mia, max_, olu = clients["Mia Member"], clients["Max Member"], clients["Olu"]
    try:
        path = f"/campaigns/{campaign_id}"
        await mia.post(f"{path}/pledge", {"option": "Come along"}, csrf_from=path)
        [pledge] = await server.runtime.db.read(store.pledges.pledges_for_campaign, campaign_id)

        # The public sees no count of one member: the option and the number of pledges read "fewer than 3".
        anonymous = WebClient(server.base_url)
        try:
            page = await anonymous.get(path)
        finally:
            await anonymous.close()
        assert "<td>fewer than 3</td>" in page.text and "Fewer than 3 people pledged" in page.text
        assert "1 of 20 people" in page.text, "amounts stay public"
        # The poll that federates leaves her out of the counts too (what outbox and routes send).
        state = await server.runtime.db.read(actions.load_campaign, campaign_id)
        question = vocab_campaigns.campaign_object(server.runtime.ids, state, minimum=server.runtime.config.min_disclosed_count)
        assert [o["replies"]["totalItems"] for o in question["oneOf"]] == [0, 0]
        assert question["votersCount"] == 0 and question["pledgers"] == 0

        # Someone else cannot say it for her; she says "I did it" on My pledges.
        assert (await max_.post(f"/pledges/{pledge.id}/done", {}, csrf_from="/home")).status == 404
        home = await mia.get("/home")
        assert "I did it" in home.text
        done = await mia.post(f"/pledges/{pledge.id}/done", {}, csrf_from="/home")
        assert "An organizer will confirm it" in done.text and "I did it</button>" not in done.text

        # The organizer sees it and confirms in one click; a member cannot.
        organize = f"/organize/campaigns/{campaign_id}"
        page = await olu.get(organize)
        assert "says done" in page.text and f"/organize/pledges/{pledge.id}/confirm" in page.text
        refused = await mia.post(f"/organize/pledges/{pledge.id}/confirm", {}, csrf_from="/home")
        assert refused.status == 403
        confirmed = await olu.post(f"/organize/pledges/{pledge.id}/confirm", {}, csrf_from=organize)
        assert confirmed.status == 200 and "says done" not in confirmed.text
        assert (await server.runtime.db.read(store.pledges.member_pledge, pledge.id)).fulfilled

        # What others can learn, in plain words, for organizers only.
        learn = await olu.get("/organize/disclosure")
        assert learn.status == 200 and "fewer than 3" in learn.text and "Never" in learn.text
        assert (await mia.get("/organize/disclosure")).status == 403
    finally:
        for client in clients.values():
            await client.close()


async def test_organizer_ticks_kept_pledges_to_a_partner_and_the_host_keeps_the_record(make_server):
    host = await make_server("c", handle="crossing")
    partner = await make_server("a", handle="tenants")
    await actions.follow_group(partner.runtime, await partner.runtime.actors.actor(host.url("/groups/crossing")))

    async def accepted():
        found = await partner.runtime.db.read(store.follows.following_of, host.url("/groups/crossing"))
        return found is not None and found.state == "accepted"

    await eventually(accepted)
    await actions.accept_partner(host.runtime, partner.url("/groups/tenants"))
    campaign_id = await actions.create_campaign(
        host.runtime, "Spring clean-up", "One morning.", goals=[parse_goal("hours:30")],
        options=[parse_option("Two hours=hours:2"), parse_option("Four hours=hours:4")],
    )  # fmt: skip

    async def arrived():
        return await partner.runtime.db.read(
            store.campaigns.partner_campaign_by_object, host.url(f"/campaigns/{campaign_id}")
        )

    partner_campaign = await eventually(arrived)
    clients = await _people(partner, ("Ana", "member"), ("Ben", "member"), ("Ola", "organizer"))
    host_clients = await _people(host, ("Cai", "organizer"))
    try:
        path = f"/partners/{partner_campaign.id}"
        for name in ("Ana", "Ben"):
            await clients[name].post(f"{path}/pledge", {"option": "Two hours"}, csrf_from=path)
        pledges = await partner.runtime.db.read(store.pledges.pledges_for_partner_campaign, partner_campaign.id)
        # Members do not see the organizer's table; the organizer ticks Ana's pledge as kept.
        assert "which were kept" not in (await clients["Ana"].get(path)).text
        page = await clients["Ola"].get(path)
        assert "which were kept" in page.text
        kept = await clients["Ola"].post(f"{path}/kept", {"fulfilled": str(pledges[0].id)}, csrf_from=path)
        assert kept.status == 200
        assert (await clients["Ana"].post(f"{path}/kept", {}, csrf_from=path)).status == 403

        # The host hears the sum delivered, shows it beside what was pledged, and keeps the record.
        async def delivered_shown():
            page = await host_clients["Cai"].get(f"/campaigns/{campaign_id}")
            return "pledged 4 hours, delivered 2 hours" in page.text

        await eventually(delivered_shown)
        await actions.close_campaign(host.runtime, campaign_id)
        record = await host_clients["Cai"].get("/organize/partners/record")
        assert "Spring clean-up" in record.text and "pledged 4 hours, delivered 2 hours" in record.text
        assert "Delivered in full in 0 of 1 campaign" in record.text
        assert "Ana" not in record.text and "Ben" not in record.text
    finally:
        for client in [*clients.values(), *host_clients.values()]:
            await client.close()
