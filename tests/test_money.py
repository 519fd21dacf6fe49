"""A campaign's money record: the rules, then everything through live servers — the organizers' pages and
forms over real HTTP, the CLI beside the running server, the public page, a member's export and erasure, the
CSV, and the outcome as it reaches a Mastodon-shaped peer."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest

from fedgroup import actions, store
from fedgroup.rules import money, passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from fedgroup.rules.money import ExpenseFacts, MoneyError
from tests.conftest import VirtualTime, run_cli
from tests.test_federation import follow
from tests.web_client import WebClient

PASSWORD = "correct horse battery"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- the rules -------------------------------------------------------------------------------------------------


def test_only_approved_spending_counts_and_left_is_raised_minus_spent():
    expenses = [ExpenseFacts(Decimal("64.50"), "approved"), ExpenseFacts(Decimal("45"), "pending"),
                ExpenseFacts(Decimal("1000"), "rejected")]  # fmt: skip
    result = money.totals("EUR", [Decimal("120.50"), Decimal("200"), Decimal("0.10")], expenses)
    assert (result.raised, result.spent, result.pending, result.left) == (
        Decimal("320.60"), Decimal("64.50"), Decimal("45"), Decimal("256.10"),
    )  # fmt: skip
    assert money.money_line(result) == "€320.60 raised · €64.50 spent · €256.10 left"
    over = money.totals("CHF", [Decimal("10")], [ExpenseFacts(Decimal("12.5"), "approved")])
    assert money.money_line(over) == "CHF 10 raised · CHF 12.50 spent · CHF 2.50 overspent"
    assert money.money_text(Decimal("-3"), "EUR") == "−€3"
    assert money.plain_amount(Decimal("120.5")) == "120.50"
    # Exact decimals: ten cents ten times is a euro, not 0.9999999999999999.
    assert money.totals("EUR", [Decimal("0.10")] * 10, []).raised == Decimal("1.00")


def test_nobody_approves_their_own_expense_and_a_decision_is_final():
    money.check_decision("pending", recorded_by=1, decider=2, approve=True)
    with pytest.raises(MoneyError, match="nobody approves their own"):
        money.check_decision("pending", recorded_by=1, decider=1, approve=True)
    money.check_decision("pending", recorded_by=1, decider=1, approve=False)  # withdrawing one's own mistake
    money.check_decision("pending", recorded_by=None, decider=1, approve=True)  # its recorder was erased
    for state in ("approved", "rejected"):
        with pytest.raises(MoneyError, match=f"already {state}"):
            money.check_decision(state, recorded_by=1, decider=2, approve=True)


def test_what_may_be_recorded():
    today = date(2026, 12, 5)
    draft = money.validate_received(" Cash box at the fair ", "12.5", "", None, today)
    assert (draft.source, draft.amount, draft.day, draft.sponsor) == (
        "Cash box at the fair",
        Decimal("12.5"),
        today,
        None,
    )
    assert (
        money.validate_received("Sponsor", "200", "2026-11-30", "Mill Road Bakery", today).sponsor
        == "Mill Road Bakery"
    )
    for amount in ("-5", "0", "1e3", "12.345", "abc", "NaN", "1" * 12):
        with pytest.raises(MoneyError) as e:
            money.validate_received("online", amount, "", None, today)
        assert e.value.field == "amount"
    for day, reason in (
        ("2026-12-06", "future"),
        ("05/12/2026", "not a date"),
        ("2006-01-01", "too long ago"),
    ):
        with pytest.raises(MoneyError, match=reason):
            money.validate_expense("Printing", "10", day, "", today)
    with pytest.raises(MoneyError, match="public name"):
        money.validate_received("Sponsor", "5", "", "  ", today)
    with pytest.raises(MoneyError, match="spent on"):
        money.validate_expense(" \t", "10", "", "", today)
    with pytest.raises(MoneyError, match="no money goal"):
        money.currency_of([parse_goal("hours:40")])  # fmt: skip


# -- through live servers -----------------------------------------------------------------------------------------


@pytest.fixture
async def group(make_server):
    """A server with an admin, two organizers and two members (with passwords), a public campaign with a money
    goal, and a web client factory. On virtual time: waits after failed sign-ins pass at once."""
    server = await make_server(app_options=VirtualTime().options())
    runtime = server.runtime
    hashed = passwords.hash_password(PASSWORD)
    ids = {}
    for name, role in (("Ada Admin", "admin"), ("Olu Organizer", "organizer"), ("Tia Treasurer", "organizer"),
                       ("Mia Member", "member"), ("Rosa Canary", "member")):  # fmt: skip
        ids[name] = await actions.add_member(
            runtime, name, role, f"{name.split()[0].lower()}@private.example", hashed
        )
    campaign_id = await actions.create_campaign(
        runtime, "Safe crossing", "Paint the crossing.",
        goals=[parse_goal("money:500:EUR"), parse_goal("hours:40")],
        options=[parse_option("Give €20=money:20"), parse_option("Two hours=hours:2")],
    )  # fmt: skip
    clients: list[WebClient] = []

    async def signed_in(name: str | None) -> WebClient:
        c = WebClient(server.base_url)
        clients.append(c)
        if name is not None:
            await c.sign_in(name, PASSWORD)
        return c

    yield server, ids, campaign_id, signed_in
    for c in clients:
        await c.close()


async def fedgroup_cli(server, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI beside the running server (awaited: the server's event loop keeps serving)."""
    return await run_cli(*args, "--data-dir", str(server.config.data_dir))


async def _expense_ids(server, campaign_id: int) -> dict[str, int]:
    return {e.what: e.id for e in await server.runtime.db.read(store.money.expenses_of, campaign_id)}


async def test_organizers_keep_the_record_on_the_web_and_the_public_sees_totals_spending_and_sponsors(group):
    server, ids, campaign_id, signed_in = group
    olu, tia = await signed_in("Olu Organizer"), await signed_in("Tia Treasurer")
    organize = f"/organize/campaigns/{campaign_id}"
    path = f"{organize}/money"

    def send(client: WebClient, action: str, fields: dict[str, str]):  # a form of the money page
        return client.post(f"{path}/{action}", fields, csrf_from=path)

    assert f'href="{path}"' in (await olu.get(organize)).text, (
        "the campaign's organizer page links to its record"
    )

    for fields in (
        {"source": "Cash box at the fair", "amount": "120.50", "day": "", "member": ""},
        {"source": "Online transfer from Rosa", "amount": "40", "member": "Rosa Canary"},
        {"source": "Bakery cheque", "amount": "200", "named": "yes", "sponsor_name": "Mill Road Bakery"},
        {
            "source": "Quiet giver",
            "amount": "75",
            "sponsor_name": "Hidden Donor Name",
        },  # not ticked: not named
    ):
        done = await send(olu, "received", fields)
        assert done.status == 200 and "The money received is recorded" in done.text, done.text
    bad = await send(olu, "received", {"source": "Online", "amount": "12.345"})
    assert bad.status == 422 and 'id="amount-error"' in bad.text and 'value="Online"' in bad.text
    nobody = await send(olu, "received", {"source": "Online", "amount": "5", "member": "Nobody Here"})
    assert nobody.status == 422 and "no member called Nobody Here" in nobody.text
    unnamed = await send(olu, "received", {"source": "S", "amount": "5", "named": "yes", "sponsor_name": ""})
    assert unnamed.status == 422 and 'id="sponsor_name-error"' in unnamed.text

    recorded = await send(olu, "expenses", {"what": "Printing 500 leaflets", "expense_amount": "64.50",
                                                   "expense_day": "", "receipt": "R-2026-014"})  # fmt: skip
    assert "counts once another organizer approves it" in recorded.text
    await send(tia, "expenses", {"what": "Banner for the council meeting", "expense_amount": "45"})
    await send(olu, "expenses", {"what": "Paint, never bought", "expense_amount": "30"})
    future = await send(olu, "expenses", {"what": "X", "expense_amount": "1", "expense_day": "2999-01-01"})
    assert future.status == 422 and 'id="expense_day-error"' in future.text
    expense = await _expense_ids(server, campaign_id)
    printing, banner = expense["Printing 500 leaflets"], expense["Banner for the council meeting"]

    # Olu's own expense: no Approve button for him, and the form posted anyway is refused; nothing counts.
    page = await olu.get(path)
    row = re.search(rf'<tr id="expense-{printing}">.*?</tr>', page.text, re.S).group()
    assert "Approve" not in row and "another organizer approves it" in row
    refused = await send(olu, "expenses/decide", {"expense": str(printing), "answer": "approve"})
    assert refused.status == 422 and "Nobody approves their own expense" in refused.text
    assert "€435.50 raised · €0 spent · €435.50 left" in refused.text
    assert (await server.runtime.db.read(store.money.expense, printing)).state == "pending"

    public = await (await signed_in(None)).get(f"/campaigns/{campaign_id}")
    assert "€435.50 raised · €0 spent · €435.50 left" in public.text, "pending expenses are not counted"
    assert "Printing 500 leaflets" not in public.text and "Banner" not in public.text

    # Tia approves Olu's expense; Olu rejects Olu's paint; Tia's banner stays pending.
    approved = await send(tia, "expenses/decide", {"expense": str(printing), "answer": "approve"})
    assert (
        "Approved: the expense counts now" in approved.text and "approved by Tia Treasurer" in approved.text
    )
    withdrawn = await send(
        olu, "expenses/decide", {"expense": str(expense["Paint, never bought"]), "answer": "reject"}
    )
    assert withdrawn.status == 200 and "Rejected" in withdrawn.text
    again = await send(olu, "expenses/decide", {"expense": str(printing), "answer": "reject"})
    assert again.status == 422 and "already approved" in again.text
    elsewhere = await send(olu, "expenses/decide", {"expense": "999", "answer": "approve"})
    assert elsewhere.status == 422 and "has no expense 999" in elsewhere.text

    line = "€435.50 raised · €64.50 spent · €371 left"
    anon = await signed_in(None)
    public = await anon.get(f"/campaigns/{campaign_id}")
    assert public.status == 200 and line in public.text
    spending = re.search(r'<table class="spending">.*?</table>', public.text, re.S).group()
    assert "Printing 500 leaflets" in spending and "€64.50" in spending and "R-2026-014" in spending
    assert "Banner" not in public.text and "Paint, never bought" not in public.text, "only approved spending"
    assert "Thank you to our sponsors: Mill Road Bakery." in public.text
    for private in ("Rosa", "Hidden Donor Name", "Quiet giver", "Cash box", "Bakery cheque", "Online transfer",
                    "Olu Organizer", "Tia Treasurer", "@private.example"):  # fmt: skip
        assert private not in public.text, private
    group_page = await anon.get("/groups/water")
    assert "Rosa" not in group_page.text and "Hidden Donor" not in group_page.text
    member_view = await (await signed_in("Mia Member")).get(f"/campaigns/{campaign_id}")
    assert (
        line in member_view.text and "Rosa" not in member_view.text and "Hidden Donor" not in member_view.text
    )

    # Organizers only; every form needs its CSRF token.
    mia = await signed_in("Mia Member")
    for what in (path, f"{organize}/money.csv"):
        assert (await mia.get(what)).status == 403
        assert (await anon.get(what, allow_redirects=False)).status == 303
    forged = await olu.post_raw(f"{path}/expenses/decide", [("expense", str(banner)), ("answer", "approve")])
    assert forged.status == 403
    assert (await server.runtime.db.read(store.money.expense, banner)).state == "pending"
    no_money = await actions.create_campaign(server.runtime, "Hours only", "x", goals=[parse_goal("hours:4")])
    assert (await olu.get(f"/organize/campaigns/{no_money}/money")).status == 404
    assert "Money record" not in (await olu.get(f"/organize/campaigns/{no_money}")).text


async def test_the_cli_refuses_self_approval_and_exports_a_csv_spreadsheets_open_safely(group, tmp_path):
    server, ids, campaign_id, signed_in = group
    cid = str(campaign_id)
    earlier = (server.runtime.now().date() - timedelta(days=5)).isoformat()
    done = await fedgroup_cli(server, "money", "receive", cid, "--by", "Olu Organizer", "--source", "=cmd|' /C calc'!A0",
                              "--amount", "50", "--sponsor", "@Bäckerei Müller;=1+1")  # fmt: skip
    assert done.returncode == 0 and "€50 raised · €0 spent · €50 left" in done.stdout, done.stderr
    done = await fedgroup_cli(server, "money", "spend", cid, "--by", "Olu Organizer", "--what", "+Plakate;-Druck",
                              "--amount", "20", "--receipt=-R1\t=2", "--date", earlier)  # fmt: skip
    assert done.returncode == 0, done.stderr
    expense = next(iter((await _expense_ids(server, campaign_id)).values()))

    own = await fedgroup_cli(server, "money", "approve", cid, str(expense), "--by", "Olu Organizer")
    assert own.returncode == 2 and own.stderr.startswith("fedgroup: error: nobody approves their own expense")
    member = await fedgroup_cli(server, "money", "approve", cid, str(expense), "--by", "Mia Member")
    assert member.returncode == 2 and "only organizers" in member.stderr
    listed = await fedgroup_cli(server, "money", "list", cid)
    assert listed.stdout.startswith("€50 raised · €0 spent · €50 left (€20 waiting for approval)")
    ok = await fedgroup_cli(server, "money", "approve", cid, str(expense), "--by", "Tia Treasurer")
    assert ok.returncode == 0 and "€50 raised · €20 spent · €30 left" in ok.stdout, ok.stderr
    twice = await fedgroup_cli(server, "money", "reject", cid, str(expense), "--by", "Ada Admin")
    assert twice.returncode == 2 and "already approved" in twice.stderr
    wrong = await fedgroup_cli(
        server, "money", "receive", "999", "--by", "Olu Organizer", "--source", "x", "--amount", "1"
    )
    assert wrong.returncode == 2 and "no campaign 999" in wrong.stderr

    # The same file from the CLI (stdout and --to) and the web; opened as a spreadsheet program opens it.
    raw = await fedgroup_cli(server, "money", "export", cid)
    assert raw.returncode == 0
    olu = await signed_in("Olu Organizer")
    async with olu.session.get(server.url(f"/organize/campaigns/{campaign_id}/money.csv")) as r:
        assert (
            r.headers["Content-Type"] == "text/csv; charset=utf-8"
            and r.headers["Cache-Control"] == "no-store"
        )
        assert f'filename="campaign-{campaign_id}-money.csv"' in r.headers["Content-Disposition"]
        web_csv = await r.read()
    to_file = tmp_path / "money.csv"
    wrote = await fedgroup_cli(server, "money", "export", cid, "--to", str(to_file))
    assert wrote.returncode == 0 and stat.S_IMODE(os.stat(to_file).st_mode) == 0o600
    assert raw.stdout.encode() == web_csv == to_file.read_bytes()
    assert web_csv.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    text = web_csv.decode("utf-8-sig")
    assert re.fullmatch(r'(?:"(?:[^"]|"")*"(?:,|\r\n))+', text), "every cell is quoted"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for row in rows:
        for cell in row:
            for separator in (",", ";", "\t", "|", "\n", "\r"):
                for piece in cell.split(separator):
                    assert not piece.startswith(FORMULA_START), (cell, separator, piece)
    assert rows[0][:4] == ["entry", "date", "what_or_source", "amount"]
    received = next(r for r in rows if r[0] == "received")
    assert received[2] == "'=cmd|' /C calc'!A0" and received[3] == "50.00" and received[4] == "EUR"
    assert received[7] == "'@Bäckerei Müller;'=1+1", "Unicode kept, the formula after ';' neutralised"
    spent = next(r for r in rows if r[0] == "expense")
    assert spent[1:4] == [earlier, "'+Plakate;'-Druck", "20.00"] and spent[5:7] == ["approved", "yes"]
    assert spent[9] == "'-R1 =2" and spent[10:12] == ["Olu Organizer", "Tia Treasurer"]
    assert spent[13:] == ["", "", ""], "no correction in its history (corrects, voided_on, void_reason)"
    assert [r[2:4] for r in rows if r[0] == "total"] == [["raised", "50.00"], ["spent", "20.00"], ["left", "30.00"],
                                                        ["pending", "0.00"]]  # fmt: skip


async def test_a_members_contribution_is_in_their_export_and_erasing_them_keeps_the_totals(group):
    server, ids, campaign_id, signed_in = group
    runtime = server.runtime
    olu, rosa = ids["Olu Organizer"], ids["Rosa Canary"]
    await actions.record_money_received(
        runtime, campaign_id, olu, "Cash at the meeting", "20", member_name="Rosa Canary"
    )
    await actions.record_money_received(runtime, campaign_id, olu, "Rosa's shop", "150", sponsor="Rosa Canary's Shop",
                               member_name="Rosa Canary")  # fmt: skip
    await actions.record_money_received(runtime, campaign_id, olu, "Cash box", "30", member_name="Mia Member")
    spent = await actions.record_expense(runtime, campaign_id, olu, "Printing", "50")
    await actions.decide_expense(runtime, campaign_id, spent, ids["Tia Treasurer"], approve=True)
    line = "€200 raised · €50 spent · €150 left"

    page = await (await signed_in("Rosa Canary")).get("/account/my-data.json")
    exported = json.loads(page.text)["money_received"]
    assert [(e["source"], e["amount"], e["currency"], e["campaign_title"]) for e in exported] == [
        ("Cash at the meeting", "20", "EUR", "Safe crossing"), ("Rosa's shop", "150", "EUR", "Safe crossing"),
    ], "her own contributions, and nobody else's"  # fmt: skip
    tia_data = await actions.export_member(runtime, ids["Tia Treasurer"])
    assert [(e["what"], e["role"]) for e in tia_data["money_expenses"]] == [("Printing", "decided")]
    anon = await signed_in(None)
    assert "Rosa Canary&#39;s Shop" in (await anon.get(f"/campaigns/{campaign_id}")).text

    # Erasing Rosa: the amounts stay in every total; the link to her and the name she gave go.
    removed = await fedgroup_cli(server, "member", "remove", "Rosa Canary")
    assert removed.returncode == 0, removed.stderr
    public = await anon.get(f"/campaigns/{campaign_id}")
    assert line in public.text and "Rosa" not in public.text
    found = await actions.money_record(runtime, campaign_id)
    assert found.line == line and [r.member_id for r in found.received] == [None, None, ids["Mia Member"]]
    assert all(r.sponsor is None for r in found.received)
    assert [r.source for r in found.received] == [store.money.ERASED_SOURCE] * 2 + ["Cash box"]
    rows = await runtime.db.fetchall("SELECT * FROM money_received")
    assert rosa not in [r["member_id"] for r in rows] and "Rosa" not in "\n".join(str(tuple(r)) for r in rows)
    # An erased organizer: what they recorded and decided stays; who they were goes.
    await fedgroup_cli(server, "member", "remove", "Tia Treasurer")
    after = await actions.money_record(runtime, campaign_id)
    assert (
        after.line == line
        and after.expenses[0].decided_by_name is None
        and after.expenses[0].state == "approved"
    )
    # Deleting the campaign erases its money record with it.
    await actions.delete_campaign(runtime, campaign_id)
    for table in ("money_received", "money_expenses"):
        assert await runtime.db.fetchall(f"SELECT * FROM {table}") == [], table
    assert (
        await (await signed_in("Olu Organizer")).get(f"/organize/campaigns/{campaign_id}/money")
    ).status == 404


async def test_the_outcome_and_its_post_carry_the_money_line(group, peer):
    server, ids, campaign_id, signed_in = group
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    olu, tia = ids["Olu Organizer"], ids["Tia Treasurer"]
    await actions.record_money_received(runtime, campaign_id, olu, "Online", "320.60")
    await actions.decide_expense(runtime, campaign_id, await actions.record_expense(runtime, campaign_id, olu, "Paint", "64.50"),
                              tia, approve=True)  # fmt: skip
    await actions.record_expense(runtime, campaign_id, tia, "Banner", "45")  # pending: not in the line
    line = "€320.60 raised · €64.50 spent · €256.10 left"

    organizer = await signed_in("Olu Organizer")
    admin_path = f"/organize/campaigns/{campaign_id}"
    reported = await organizer.post(
        f"{admin_path}/outcome", {"outcome": "The crossing is painted."}, csrf_from=admin_path
    )
    assert "The outcome is published" in reported.text
    posts = await peer.wait_for(
        lambda r: (
            r.json and r.json.get("type") == "Create" and r.json["object"].get("id", "").endswith("/outcome")
        )
    )
    content = posts[0].json["object"]["content"]
    assert f"<p>{line}</p>" in content and "<p>Goal €500: €0 pledged, €0 given · Goal 40 hours" in content
    assert "Banner" not in content and "Olu" not in content
    status, fetched = await peer.get(alice, server.url(f"/campaigns/{campaign_id}/outcome"))
    assert status == 200 and fetched["content"] == content, "fetched later, the outcome says the same"
    assert line in (await (await signed_in(None)).get(f"/campaigns/{campaign_id}")).text

    # The CLI's outcome says the same.
    done = await fedgroup_cli(
        server, "campaign", "outcome", str(campaign_id), "--report", "Painted, and paid."
    )
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == line
