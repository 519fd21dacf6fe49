"""A partner's campaign that closed keeps the figures our group sent it: a member erased (or a pledge
withdrawn) afterwards changes nothing there, and what our members delivered still reaches the host and is
accepted. Two real fedgroup servers: C hosts the campaign, A is the partner group whose members pledge."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from fedgroup import actions, store
from fedgroup.rules.campaigns import Contribution, parse_goal, parse_option
from tests.conftest import eventually
from tests.test_delivered import _lines, _members, _partner_id, _pledges_from

COME = "Come along"


async def test_after_the_partners_campaign_closed_only_delivered_reaches_it(make_server, caplog):
    caplog.set_level(logging.INFO, logger="fedgroup")
    recorded: list = []
    c = await make_server("c", handle="crossing", recorded=recorded)
    a = await make_server("a", handle="tenants", recorded=recorded)
    await actions.follow_group(a.runtime, await a.runtime.actors.actor(c.url("/groups/crossing")))

    async def accepted():
        following = await a.runtime.db.read(store.follows.following_of, c.url("/groups/crossing"))
        return following is not None and following.state == "accepted"

    await eventually(accepted)
    await actions.accept_partner(c.runtime, a.url("/groups/tenants"))
    campaign_id = await actions.create_campaign(
        c.runtime, "Spring clean-up", "One Saturday morning.",
        goals=[parse_goal("people:20")], options=[parse_option(f"{COME}=people:1")],
    )  # fmt: skip
    a_id = await _partner_id(a, c.url(f"/campaigns/{campaign_id}"))
    stays, erased, withdraws = await _members(a, ("Tenant Stays", "Tenant Erased", "Tenant Withdraws"))
    for member in (stays, erased, withdraws):
        await actions.pledge_to_partner(a.runtime, member, a_id, option=COME)

    async def counted(people: int):
        line = (await _lines(c, campaign_id)).get("tenants")
        return line is not None and line.pledged == (Contribution("people", Decimal(people)),) and line

    await eventually(lambda: counted(3))

    # C closes its campaign; A hears of it.
    assert await actions.close_campaign(c.runtime, campaign_id)

    async def a_knows_closed():
        found = await a.runtime.db.read(store.campaigns.partner_campaign, a_id)
        return found is not None and found.closed

    await eventually(a_knows_closed)
    sent_before = await a.runtime.db.read(store.pledges.sent_group_pledge, a_id)

    # A member may not withdraw from the closed campaign; another is erased: the figures sent stay.
    mine = await a.runtime.db.read(store.pledges.pledges_of_member, withdraws)
    with pytest.raises(actions.ActionError, match="closed"):
        await actions.withdraw_pledge(a.runtime, withdraws, mine[0].id)
    await actions.remove_member(a.runtime, erased)
    sent_after = await a.runtime.db.read(store.pledges.sent_group_pledge, a_id)
    assert sent_after == sent_before, "nothing about the erasure goes to the closed campaign"

    # A's organizer marks the remaining pledges kept: C accepts what was delivered, beside the frozen pledged.
    for pledge in await a.runtime.db.read(store.pledges.pledges_for_partner_campaign, a_id):
        await actions.set_fulfilled(a.runtime, pledge.id, True)

    async def delivered():
        line = await counted(3)
        return line and line.delivered == (Contribution("people", Decimal(2)),) and line

    line = await eventually(delivered)
    state = await c.runtime.db.read(actions.load_campaign, campaign_id)
    assert state is not None and line.text(state.goals).endswith(": pledged 3 people, delivered 2 people")
    last = _pledges_from(recorded, a)[-1]
    assert last["pledgers"] == 3 and last["delivered"] == [{"kind": "people", "amount": "2"}]

    async def logged() -> bool:  # C's handler logs after its commit: the line is an event of its own
        return "group pledge delivered-updated" in caplog.text

    await eventually(logged)
    assert "group pledge closed" not in caplog.text, "C refused nothing A sent"
    assert state.tally.pledgers == 3, "C's closed totals stay as it closed"
