"""A proposal end to end in a real browser (Debian's chromium through Playwright): a member proposes, two
members take positions (one blocks, with a reason), the first changes hers, the facilitator closes it, writes
the outcome and publishes it; the post reaches a follower on a Mastodon-shaped peer with counts only. The
pages fit a 320 px wide screen."""

from __future__ import annotations

from fedgroup import actions
from fedgroup.rules import passwords
from tests.test_browser import CHROMIUM, PASSWORD, browser, pytestmark, shot, sign_in  # noqa: F401
from tests.test_federation import follow

REASON = "The hall has no step-free entrance"


async def fits(page) -> None:
    """Nothing wider than a 320 px screen: no sideways scrolling."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"{page.url} is {width} px wide"


async def test_a_proposal_from_proposing_to_publishing(make_server, browser, peer):  # noqa: F811
    server = await make_server(timezone="Europe/Madrid")
    runtime = server.runtime
    hashed = passwords.hash_password(PASSWORD)
    for name, role in (("Olu Organizer", "organizer"), ("Mia Member", "member"), ("Rosa Member", "member")):
        await actions.add_member(runtime, name, role, None, hashed)
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)

    mia_context = await browser.new_context(viewport={"width": 320, "height": 800})
    rosa_context = await browser.new_context(viewport={"width": 320, "height": 800})
    olu_context = await browser.new_context(viewport={"width": 1024, "height": 800})
    mia, rosa, olu = await mia_context.new_page(), await rosa_context.new_page(), await olu_context.new_page()
    try:
        # Mia proposes.
        await sign_in(mia, server.base_url, "Mia Member")
        await mia.get_by_role("link", name="Proposals").click()
        await mia.get_by_role("link", name="Make a proposal").click()
        await fits(mia)
        await mia.get_by_label("Title", exact=True).fill("Rent the community hall for the spring meeting")
        await mia.get_by_label("What you propose, and why").fill("It holds 80 people.\n\nIt costs €60.")
        await mia.get_by_label("Consent: agree, abstain, disagree or block").check()
        await mia.get_by_role("button", name="Open the proposal").click()
        await mia.wait_for_url("**/proposals/*?done=proposed")
        path = mia.url.split(server.base_url, 1)[1].split("?", 1)[0]
        await fits(mia)

        # Mia agrees; Rosa tries to block without a reason, then with one.
        await mia.get_by_label("Agree", exact=True).check()
        await mia.get_by_role("button", name="Take this position").click()
        await mia.wait_for_url(f"**{path}?done=position")
        await sign_in(rosa, server.base_url, "Rosa Member")
        await rosa.goto(server.url(path))
        await rosa.get_by_label("Block", exact=True).check()
        await rosa.get_by_role("button", name="Take this position").click()
        summary = rosa.locator(".error-summary")
        assert "A block needs a reason" in await summary.inner_text()
        assert await rosa.get_by_label("Reason (needed for a block").get_attribute("aria-invalid") == "true"
        await rosa.get_by_label("Reason (needed for a block").fill(REASON)
        await rosa.get_by_role("button", name="Take this position").click()
        await rosa.wait_for_url(f"**{path}?done=position")
        text = await rosa.locator("main").inner_text()
        assert "Blocked: 1 block" in text and REASON in text and "Rosa Member blocks" in text
        await fits(rosa)
        await shot(rosa, "proposal-member-320")

        # Mia sees the block and its reason, and changes her position.
        await mia.reload()
        assert REASON in await mia.locator("main").inner_text()
        assert await mia.get_by_label("Agree", exact=True).is_checked(), "her own position is filled in"
        await mia.get_by_label("Disagree", exact=True).check()
        await mia.get_by_label("Reason (needed for a block").fill("Let us find a step-free hall")
        await mia.get_by_role("button", name="Change my position").click()
        await mia.wait_for_url(f"**{path}?done=position")
        assert "You said: Disagree" in await mia.locator("main").inner_text()

        # Olu facilitates: closes it, writes the outcome, publishes it to followers.
        await sign_in(olu, server.base_url, "Olu Organizer")
        await olu.goto(server.url(path))
        await olu.get_by_role("button", name="Close now").click()
        await olu.wait_for_url(f"**{path}?done=proposal-closed")
        await olu.get_by_label("The outcome").fill("We look for a step-free hall instead.")
        await olu.get_by_role("button", name="Write the outcome").click()
        await olu.wait_for_url(f"**{path}?done=outcome-written")
        await olu.get_by_label("Followers only").check()
        await olu.get_by_role("button", name="Publish the outcome").click()
        await olu.wait_for_url(f"**{path}?done=outcome-published")
        text = await olu.locator("main").inner_text()
        assert "Published to followers" in text and "Blocked: 1 block" in text
        assert "Rosa Member" in text and "Mia Member" in text, "who took which position, for members"
        await shot(olu, "proposal-facilitated")

        notes = await peer.wait_for(
            lambda r: (
                r.json and r.json.get("type") == "Create" and "/decisions/" in r.json["object"].get("id", "")
            )
        )
        content = notes[0].json["object"]["content"]
        assert "We look for a step-free hall instead." in content and "<p>Disagree: 1 vote</p>" in content
        for private in ("Rosa", "Mia", "Olu", REASON, "Let us find", "It holds 80 people"):
            assert private not in content, private
    finally:
        for context in (mia_context, rosa_context, olu_context):
            await context.close()
