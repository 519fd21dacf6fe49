"""Lists that grow are shown a page at a time (rules/paging.py): the group page's campaigns, the organizers'
campaigns and replies, and the admins' members. Plain links (no script), a labelled navigation landmark,
and a page past the end or a page that is not a number is not found."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from fedgroup import actions, store
from fedgroup.rules import passwords
from fedgroup.rules.paging import PAGE_SIZE, NoSuchPage, page_of, requested_number
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


def cards(text: str) -> list[str]:
    return re.findall(r'<a href="/campaigns/(\d+)"', text)


def test_page_numbers_and_bounds():
    assert requested_number(None) == requested_number("") == 1 and requested_number("3") == 3
    for bad in ("0", "-1", "x", "1.5", "٣", "9" * 7):
        with pytest.raises(NoSuchPage):
            requested_number(bad)
    assert page_of(1, 0).pages == 1 and not page_of(1, 0).has_next
    page = page_of(3, 45)
    assert (page.offset, page.pages, page.has_previous, page.has_next) == (40, 3, True, False)
    with pytest.raises(NoSuchPage):
        page_of(4, 45)


async def test_the_group_page_shows_campaigns_a_page_at_a_time_with_plain_links(make_server):
    server = await make_server()
    runtime = server.runtime
    total = 2 * PAGE_SIZE + 5
    ids = [
        await actions.create_campaign(runtime, f"Campaign {i}", "Text.", visibility="public")
        for i in range(total)
    ]
    anon = WebClient(server.base_url)
    try:
        first = await anon.get("/groups/water")
        assert first.status == 200 and cards(first.text) == [str(i) for i in reversed(ids[-PAGE_SIZE:])]
        assert '<nav class="pager" aria-label="Pages of campaigns">' in first.text
        assert f"Page 1 of 3 ({total} in all)" in first.text
        assert 'rel="next" href="/groups/water?page=2"' in first.text and 'rel="prev"' not in first.text
        assert "<script" not in first.text

        second = await anon.get("/groups/water?page=2")
        assert cards(second.text) == [str(i) for i in reversed(ids[5 : PAGE_SIZE + 5])]
        assert (
            'rel="prev" href="/groups/water"' in second.text and 'href="/groups/water?page=3"' in second.text
        )
        last = await anon.get("/groups/water?page=3")
        assert cards(last.text) == [str(i) for i in reversed(ids[:5])] and 'rel="next"' not in last.text
        assert 'rel="prev" href="/groups/water?page=2"' in last.text
        for bad in ("4", "0", "abc"):
            assert (await anon.get(f"/groups/water?page={bad}")).status == 404

        # A new campaign moves every page along (each page is kept until a campaign changes).
        newest = await actions.create_campaign(runtime, "Newest", "Text.", visibility="public")
        assert cards((await anon.get("/groups/water")).text)[0] == str(newest)
        assert cards((await anon.get("/groups/water?page=3")).text)[-1] == str(ids[0])
        assert "Page 1 of 3" in (await anon.get("/groups/water")).text
    finally:
        await anon.close()


async def test_a_few_campaigns_need_no_pager(make_server):
    server = await make_server()
    await actions.create_campaign(server.runtime, "Only one", "Text.", visibility="public")
    anon = WebClient(server.base_url)
    try:
        page = await anon.get("/groups/water")
        assert "Only one" in page.text and "pager" not in page.text
    finally:
        await anon.close()


async def test_organizers_and_admins_see_their_lists_a_page_at_a_time(make_server):
    server = await make_server()
    runtime = server.runtime
    await actions.add_member(
        runtime, "Ada Admin", "admin", "ada@private.example", passwords.hash_password(PASSWORD)
    )
    for i in range(PAGE_SIZE + 3):
        await actions.add_member(runtime, f"Member {i:02d}", "member")
    campaigns = [
        await actions.create_campaign(runtime, f"C{i}", "Text.", visibility="members")
        for i in range(PAGE_SIZE + 1)
    ]
    campaign = campaigns[0]
    now = runtime.now()
    for i in range(PAGE_SIZE + 2):
        await runtime.db.write(
            store.campaigns.add_comment, f"https://far.example/notes/{i}", campaign, "https://far.example/users/x",
            f"<p>Reply number {i}</p>", None, None, now + timedelta(seconds=i),
        )  # fmt: skip
    ada = WebClient(server.base_url)
    try:
        await ada.sign_in("Ada Admin", PASSWORD)
        members = await ada.get("/admin/members")
        assert members.status == 200 and "Member 00" in members.text and "Member 22" not in members.text
        assert (
            'aria-label="Pages of members"' in members.text and 'href="/admin/members?page=2"' in members.text
        )
        rest = await ada.get("/admin/members?page=2")
        assert "Member 22" in rest.text and "Member 00" not in rest.text
        assert (await ada.get("/admin/members?page=3")).status == 404

        organize = await ada.get("/organize")
        assert (
            'aria-label="Pages of campaigns"' in organize.text
            and f"/organize/campaigns/{campaigns[-1]}" in organize.text
        )
        assert f'href="/organize/campaigns/{campaign}"' not in organize.text
        assert f'href="/organize/campaigns/{campaign}"' in (await ada.get("/organize?page=2")).text

        replies = await ada.get(f"/organize/campaigns/{campaign}")
        assert "Reply number 0<" in replies.text and f"Reply number {PAGE_SIZE}<" not in replies.text
        assert f'href="/organize/campaigns/{campaign}?page=2#replies-heading"' in replies.text
        more = await ada.get(f"/organize/campaigns/{campaign}?page=2")
        assert f"Reply number {PAGE_SIZE + 1}<" in more.text and "Reply number 0<" not in more.text
    finally:
        await ada.close()
