"""A group that joins a coalition takes the partner's campaigns as they are now: each campaign listed in the
partner's outbox is fetched afresh (signed) on the partner's Accept, and only from the partner's own origin."""

from __future__ import annotations

import uuid

from fedgroup import actions, store
from fedgroup.protocol import vocab_campaigns
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import eventually


def _campaign_of(peer_group: str, base: dict, path: str, pledged: str) -> dict:
    """A fedgroup campaign document, as the partner (the fake group) would serve it, with `pledged` so far."""
    doc = dict(base)
    doc["id"] = doc["url"] = f"{peer_group}{path}"
    doc["attributedTo"] = peer_group
    doc["goals"] = [dict(g, pledged=pledged) for g in base["goals"]]
    return doc


async def test_campaigns_are_fetched_as_they_are_now_and_only_from_the_partners_origin(make_server, peer):
    a = await make_server("a", handle="tenants")
    b = await make_server("b", handle="foodbank")
    group = peer.add_actor("kitchen", "peer-1", actor_type="Group")
    campaign_id = await actions.create_campaign(
        b.runtime, "Winter meals", "Hot meals.", goals=[parse_goal("money:500:EUR")],
        options=[parse_option("Give €20=money:20")],
    )  # fmt: skip
    state = await b.runtime.db.read(actions.load_campaign, campaign_id)
    template = vocab_campaigns.campaign_object(b.runtime.ids, state, minimum=b.runtime.config.min_disclosed_count)

    honest = _campaign_of(group.id, template, "/campaigns/1", "0")  # as created: nothing pledged yet
    elsewhere = b.url(f"/campaigns/{campaign_id}")  # a real campaign, but of another server
    wrong_id = _campaign_of(group.id, template, "/campaigns/2", "0")
    gone = _campaign_of(group.id, template, "/campaigns/3", "0")
    last = _campaign_of(group.id, template, "/campaigns/4", "0")  # taken last: once it is in, all were seen
    creates = [
        {"id": f"{group.id}/activities/{n}", "type": "Create", "actor": group.id, "object": obj}
        for n, obj in enumerate([honest, dict(honest, id=elsewhere), wrong_id, gone, last])
    ]
    peer.served_documents["/users/kitchen/outbox"] = {
        "id": f"{group.id}/outbox", "type": "OrderedCollection", "totalItems": len(creates),
        "first": {"id": f"{group.id}/outbox?page=1", "type": "OrderedCollectionPage", "orderedItems": creates},
    }  # fmt: skip
    # Now: €120 pledged to the honest one; the second answers as another object; the third is gone (404).
    peer.served_documents["/users/kitchen/campaigns/1"] = _campaign_of(
        group.id, template, "/campaigns/1", "120"
    )
    peer.served_documents["/users/kitchen/campaigns/2"] = _campaign_of(
        group.id, template, "/campaigns/9", "5"
    )
    peer.served_documents["/users/kitchen/campaigns/4"] = last

    await actions.follow_group(a.runtime, await a.runtime.actors.actor(group.id))
    [follow] = await peer.wait_for(lambda r: r.json and r.json.get("type") == "Follow")
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams", "id": f"{group.id}#accept/{uuid.uuid4()}",
        "type": "Accept", "actor": group.id, "object": follow.json,
    }  # fmt: skip
    status, _ = await peer.post(group, a.url("/groups/tenants/inbox"), accept)
    assert status == 202

    async def imported(object_id: str):
        return await a.runtime.db.read(store.campaigns.partner_campaign_by_object, object_id)

    await eventually(lambda: imported(last["id"]))
    found = await imported(honest["id"])
    assert found is not None and '"pledged":"120"' in found.goals, "the campaign as it is now, not as created"
    held = sorted(p.object_id for p in await a.runtime.db.read(store.campaigns.partner_campaigns))
    assert held == [honest["id"], last["id"]], "nothing from another host, under another id, or gone"
