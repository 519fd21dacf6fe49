"""A closed campaign's totals are frozen, including one closed before closing froze them (schema 25)."""

from __future__ import annotations

from fedgroup import actions
from fedgroup.rules.campaigns import parse_goal, parse_option


async def test_a_campaign_closed_before_freezing_existed_is_frozen_as_it_stands(make_server):
    server = await make_server()
    runtime = server.runtime
    member = await actions.add_member(runtime, "Mia Member", "member")
    campaign_id = await actions.create_campaign(
        runtime, "Crossing", "Paint it", goals=[parse_goal("money:500:EUR")],
        options=[parse_option("Give €20=money:20")],
    )  # fmt: skip
    await actions.pledge(runtime, member, campaign_id, option="Give €20")
    await actions.close_campaign(runtime, campaign_id)
    # As an older server left it: closed, with no frozen totals.
    def unfreeze(conn, campaign_id: int) -> None:
        conn.execute("UPDATE campaigns SET final_tally = NULL WHERE id = ?", (campaign_id,))

    await runtime.db.write(unfreeze, campaign_id)
    await actions.close_due_campaigns(runtime)
    await actions.remove_member(runtime, member)
    state = await runtime.db.read(actions.load_campaign, campaign_id)
    assert state.row.final_tally is not None
    assert state.progress_text == "€20 of €500" and state.tally.pledgers == 1
