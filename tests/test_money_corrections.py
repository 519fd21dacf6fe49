"""Correcting the money record: an organizer voids an entry, or corrects it, always with a reason; the voided
entry stays in the record (its history readable on the organizers' page, in the CSV and the CLI listing), a
corrected expense counts only once a second organizer approves the corrected figures, and the public totals,
spending list and outcome follow. Through a live server: the web forms over real HTTP and the CLI beside it."""

from __future__ import annotations

import csv
import io
import re

import pytest

from fedgroup import actions, store
from fedgroup.rules import money
from fedgroup.rules.money import MoneyError
from tests.test_money import fedgroup_cli, group  # noqa: F401 (group is the fixture)

TYPO = "the cash count was 102.50, not 120.50"
RECEIPT = "the receipt says 46.40"


def test_a_reason_is_required_and_a_voided_entry_is_corrected_no_more():
    assert money.validate_reason("  duplicate of entry 3 ") == "duplicate of entry 3"
    with pytest.raises(MoneyError) as e:
        money.validate_reason("  ")
    assert e.value.field == "reason"
    with pytest.raises(MoneyError, match="at most 300"):
        money.validate_reason("x" * 301)
    money.check_correctable(False, "approved")
    money.check_correctable(False, None)
    with pytest.raises(MoneyError, match="already voided"):
        money.check_correctable(True, None)
    with pytest.raises(MoneyError, match="rejected expense"):
        money.check_correctable(False, "rejected")


async def test_an_organizer_corrects_received_money_and_an_approved_expense_with_a_reason(group):  # noqa: F811
    server, ids, campaign_id, signed_in = group
    olu, tia, anon = await signed_in("Olu Organizer"), await signed_in("Tia Treasurer"), await signed_in(None)
    path = f"/organize/campaigns/{campaign_id}/money"
    await olu.post(f"{path}/received", {"source": "Cash box at the fair", "amount": "120.50"}, csrf_from=path)
    await olu.post(f"{path}/received", {"source": "Online", "amount": "40"}, csrf_from=path)
    await olu.post(
        f"{path}/received", {"source": "Online", "amount": "40"}, csrf_from=path
    )  # twice by mistake
    await olu.post(f"{path}/expenses", {"what": "Printing", "expense_amount": "64.50"}, csrf_from=path)
    received = await server.runtime.db.read(store.money.received_of, campaign_id)
    cash, online, duplicate = (r.id for r in received)
    [printing] = [e.id for e in await server.runtime.db.read(store.money.expenses_of, campaign_id)]
    await tia.post(f"{path}/expenses/decide", {"expense": str(printing), "answer": "approve"}, csrf_from=path)
    assert "€200.50 raised · €64.50 spent · €136 left" in (await anon.get(f"/campaigns/{campaign_id}")).text

    # The correction page shows the entry and its figures, ready to change; without a reason nothing changes.
    correct = f"{path}/correct?entry=received&id={cash}"
    page = await olu.get(correct)
    assert (
        page.status == 200 and 'value="120.50"' in page.text and 'value="Cash box at the fair"' in page.text
    )
    fields = {"entry": "received", "id": str(cash), "source": "Cash box at the fair", "amount": "102.50",
              "day": "", "reason": "", "do": "correct"}  # fmt: skip
    refused = await olu.post(f"{path}/correct", fields, csrf_from=correct)
    assert refused.status == 422 and 'id="reason-error"' in refused.text and 'value="102.50"' in refused.text
    assert "€200.50 raised" in (await anon.get(f"/campaigns/{campaign_id}")).text

    done = await olu.post(f"{path}/correct", fields | {"reason": TYPO}, csrf_from=correct)
    assert done.status == 200 and "Corrected: the old entry stays in the record" in done.text
    assert "€182.50 raised · €64.50 spent · €118 left" in done.text
    assert TYPO in done.text and f"corrects #{cash}" in done.text, "the history is on the organizers' page"
    again = await olu.post(f"{path}/correct", fields | {"reason": TYPO}, csrf_from=correct)
    assert again.status == 422 and "already voided or corrected" in again.text

    # A duplicate is voided (kept, counting toward nothing).
    void = {"entry": "received", "id": str(duplicate), "reason": "entered twice", "do": "void"}
    voided = await olu.post(
        f"{path}/correct", void, csrf_from=f"{path}/correct?entry=received&id={duplicate}"
    )
    assert "The entry is voided" in voided.text and "€142.50 raised · €64.50 spent · €78 left" in voided.text

    # The approved expense is corrected: the corrected figures wait for a second organizer, so nothing is spent.
    expense_page = f"{path}/correct?entry=expense&id={printing}"
    assert 'value="Printing"' in (await olu.get(expense_page)).text
    corrected = await olu.post(
        f"{path}/correct",
        {"entry": "expense", "id": str(printing), "what": "Printing 500 leaflets", "amount": "46.40",
         "day": "", "receipt": "R-14", "reason": RECEIPT, "do": "correct"},
        csrf_from=expense_page,
    )  # fmt: skip
    assert "counts once another organizer approves it" in corrected.text
    assert "€142.50 raised · €0 spent · €142.50 left" in corrected.text
    public = (await anon.get(f"/campaigns/{campaign_id}")).text
    assert "€142.50 raised · €0 spent · €142.50 left" in public and "Printing" not in public
    expenses = await server.runtime.db.read(store.money.expenses_of, campaign_id)
    [fixed] = [e for e in expenses if e.history.corrects == printing]
    assert (fixed.state, fixed.recorded_by) == ("pending", ids["Olu Organizer"])
    own = await olu.post(
        f"{path}/expenses/decide", {"expense": str(fixed.id), "answer": "approve"}, csrf_from=path
    )
    assert own.status == 422 and "Nobody approves their own expense" in own.text
    old = await tia.post(
        f"{path}/expenses/decide", {"expense": str(printing), "answer": "approve"}, csrf_from=path
    )
    assert old.status == 422 and "voided" in old.text
    await tia.post(f"{path}/expenses/decide", {"expense": str(fixed.id), "answer": "approve"}, csrf_from=path)
    public = (await anon.get(f"/campaigns/{campaign_id}")).text
    assert "€142.50 raised · €46.40 spent · €96.10 left" in public
    spending = re.search(r'<table class="spending">.*?</table>', public, re.S).group()
    assert "Printing 500 leaflets" in spending and "€46.40" in spending and "€64.50" not in spending
    for private in (TYPO, RECEIPT, "entered twice", "Olu Organizer", "Cash box"):
        assert private not in public, private

    # The record's CSV keeps every entry, the voided ones marked, with the reason and what corrects what.
    async with olu.session.get(server.url(f"{path}.csv")) as r:
        body = await r.read()
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    by_id = {(r["entry"], r["id"]): r for r in rows if r["entry"] != "total"}
    assert (
        by_id[("received", str(cash))]["counts"] == "no"
        and by_id[("received", str(cash))]["void_reason"] == TYPO
    )
    assert by_id[("expense", str(printing))]["state"] == "voided"
    assert by_id[("expense", str(fixed.id))]["corrects"] == str(printing)
    assert by_id[("expense", str(fixed.id))]["counts"] == "yes"
    totals = {r["what_or_source"]: r["amount"] for r in rows if r["entry"] == "total"}
    assert (totals["raised"], totals["spent"], totals["left"]) == ("142.50", "46.40", "96.10")

    # The outcome carries the corrected line.
    summary = await actions.report_outcome(server.runtime, campaign_id, "The crossing is painted.")
    assert "€142.50 raised · €46.40 spent · €96.10 left" in summary

    # Organizers only, CSRF on the form.
    mia = await signed_in("Mia Member")
    assert (await mia.get(expense_page)).status == 403
    forged = await olu.post_raw(f"{path}/correct", [("entry", "received"), ("id", str(online)),
                                                   ("reason", "x"), ("do", "void")])  # fmt: skip
    assert forged.status == 403
    assert (await server.runtime.db.read(store.money.received, online)).history.counts


async def test_the_cli_corrects_and_voids_with_a_reason_and_lists_the_history(group):  # noqa: F811
    server, ids, campaign_id, _ = group
    cid = str(campaign_id)
    olu, tia = ("--by", "Olu Organizer"), ("--by", "Tia Treasurer")
    assert (
        await fedgroup_cli(server, "money", "receive", cid, *olu, "--source", "Fair", "--amount", "80")
    ).returncode == 0
    assert (
        await fedgroup_cli(server, "money", "spend", cid, *olu, "--what", "Paint", "--amount", "30")
    ).returncode == 0
    [fair] = [r.id for r in await server.runtime.db.read(store.money.received_of, campaign_id)]
    [paint] = [e.id for e in await server.runtime.db.read(store.money.expenses_of, campaign_id)]
    assert (await fedgroup_cli(server, "money", "approve", cid, str(paint), *tia)).returncode == 0

    no_reason = await fedgroup_cli(
        server, "money", "correct", cid, "received", str(fair), *olu, "--amount", "8"
    )
    assert no_reason.returncode != 0 and "--reason" in no_reason.stderr
    fixed = await fedgroup_cli(
        server,
        "money",
        "correct",
        cid,
        "received",
        str(fair),
        *olu,
        "--amount",
        "85",
        "--reason",
        "recounted",
    )
    assert fixed.returncode == 0 and "€85 raised · €30 spent · €55 left" in fixed.stdout, fixed.stderr
    paint_fixed = await fedgroup_cli(
        server, "money", "correct", cid, "expense", str(paint), *tia, "--amount", "35", "--reason", "receipt"
    )
    assert paint_fixed.returncode == 0 and "another organizer approves it" in paint_fixed.stdout, (
        paint_fixed.stderr
    )
    new_paint = max(e.id for e in await server.runtime.db.read(store.money.expenses_of, campaign_id))
    own = await fedgroup_cli(server, "money", "approve", cid, str(new_paint), *tia)
    assert own.returncode != 0 and "nobody approves their own" in own.stderr
    approved = await fedgroup_cli(server, "money", "approve", cid, str(new_paint), *olu)
    assert "€85 raised · €35 spent · €50 left" in approved.stdout, approved.stderr
    void = await fedgroup_cli(
        server, "money", "void", cid, "expense", str(new_paint), *olu, "--reason", "refunded"
    )
    assert void.returncode == 0 and "€85 raised · €0 spent · €85 left" in void.stdout, void.stderr
    again = await fedgroup_cli(server, "money", "void", cid, "expense", str(new_paint), *olu, "--reason", "x")
    assert again.returncode != 0 and "already voided" in again.stderr

    listing = await fedgroup_cli(server, "money", "list", cid)
    assert listing.stdout.startswith("€85 raised · €0 spent · €85 left")
    assert "voided" in listing.stdout and "recounted" in listing.stdout and "refunded" in listing.stdout
    assert f"corrects {fair}" in listing.stdout and f"corrects {paint}" in listing.stdout
