"""A partner's delivered figures are bounded like its pledged ones: no more than pledged, per kind, of a kind
it pledges, each kind once; anything else drops the aggregate whole (the previous one keeps counting). After
a campaign closes only what was delivered may change. A withheld aggregate ("fewer than 3") counts nowhere.

The Mastodon-shaped peer plays a partner group, signing as a real server would; what is asserted is what the
public page shows, what the database holds and the one log line per refusal.
"""

from __future__ import annotations

import logging

from fedgroup import actions
from tests.test_federation import follow
from tests.test_partners import crossing, deliver, money, pledge_of, public_page, tally, update_of


def delivered(**amounts: str) -> list[dict]:
    return [{"kind": kind, "amount": amount} for kind, amount in amounts.items()]


async def _partner(make_server, peer):
    server = await make_server()
    campaign_id = await crossing(server)  # €20 pledged by a member of ours
    coats = peer.add_actor("coats", "peer-1", actor_type="Group")
    coats.document["name"] = "Coats for All"
    await follow(peer, coats, server)
    await actions.accept_partner(server.runtime, coats.id)
    return server, campaign_id, coats


async def test_delivered_beyond_pledged_or_malformed_is_dropped_whole(make_server, peer, caplog):
    caplog.set_level(logging.INFO, logger="fedgroup")
    server, campaign_id, coats = await _partner(make_server, peer)
    campaign = server.url(f"/campaigns/{campaign_id}")
    sane = pledge_of(coats, campaign, 3, [money("60", 3, "Give €20")]) | {"delivered": delivered(money="40")}
    await deliver(peer, coats, server, sane)
    assert "Coats for All: pledged €60, delivered €40" in await public_page(server, campaign_id)

    attacks = {
        "delivered-more-than-pledged": delivered(money="60.01"),
        "delivered-unpledged-kind": delivered(hours="2"),
        "duplicate-delivered": delivered(money="1") + delivered(money="2"),
        "bad-delivered": delivered(money="-5"),
    }
    for reason, figures in attacks.items():
        await deliver(peer, coats, server, update_of(coats, sane | {"delivered": figures}))
        assert f"reason={reason}" in caplog.text or f"pledge {reason}" in caplog.text, reason
    page = await public_page(server, campaign_id)
    assert "Coats for All: pledged €60, delivered €40" in page, "the counted aggregate stands"
    assert (await tally(server, campaign_id)).pledgers == 4

    # A withheld aggregate carries no figures: with figures beside it, it is no aggregate at all.
    mixed = pledge_of(coats, campaign, 3, [money("60", 3, "Give €20")]) | {"pledgersFewerThan": 3}
    await deliver(peer, coats, server, update_of(coats, mixed))
    assert "reason=bad-withheld-aggregate" in caplog.text
    assert "Coats for All: pledged €60, delivered €40" in await public_page(server, campaign_id)


async def test_after_closing_only_what_was_delivered_may_change(make_server, peer, caplog):
    caplog.set_level(logging.INFO, logger="fedgroup")
    server, campaign_id, coats = await _partner(make_server, peer)
    campaign = server.url(f"/campaigns/{campaign_id}")
    pledged = pledge_of(coats, campaign, 3, [money("60", 3, "Give €20")])
    await deliver(peer, coats, server, pledged)
    assert await actions.close_campaign(server.runtime, campaign_id)

    more = pledge_of(coats, campaign, 4, [money("80", 4, "Give €20")], pledged["id"])
    await deliver(peer, coats, server, update_of(coats, more | {"delivered": delivered(money="80")}))
    assert "group pledge closed" in caplog.text
    kept = pledged | {"delivered": delivered(money="40")}
    await deliver(peer, coats, server, update_of(coats, kept))
    assert "group pledge delivered-updated" in caplog.text
    page = await public_page(server, campaign_id)
    assert "Coats for All: pledged €60, delivered €40" in page and "€80 of €500" in page
    too_much = pledged | {"delivered": delivered(money="61")}
    await deliver(peer, coats, server, update_of(coats, too_much))
    assert "group pledge delivered-more-than-pledged" in caplog.text
    assert "Coats for All: pledged €60, delivered €40" in await public_page(server, campaign_id)


async def test_a_withheld_aggregate_counts_nowhere_and_reads_fewer_than(make_server, peer):
    server, campaign_id, coats = await _partner(make_server, peer)
    campaign = server.url(f"/campaigns/{campaign_id}")
    withheld = pledge_of(coats, campaign, 0, []) | {"pledgersFewerThan": 3}
    del withheld["pledgers"], withheld["contributions"]
    await deliver(peer, coats, server, withheld)
    counted = await tally(server, campaign_id)
    assert counted.partner_groups == 0 and counted.pledgers == 1
    page = await public_page(server, campaign_id)
    assert "Coats for All: fewer than 3 people pledged" in page and "€20 of €500" in page
