"""fedgroup money receive | spend | approve | reject | list | export: a campaign's money record."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fedgroup import actions
from fedgroup.cli.command import OneLineParser, group_lang, managed, table
from fedgroup.cli.members import write_private_file
from fedgroup.rules import formats, languages
from fedgroup.rules.languages import N_, Message
from fedgroup.rules.money import plain_amount
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    money = commands.add_parser("money", help="a campaign's money record").add_subparsers(
        dest="money_command", required=True, parser_class=OneLineParser
    )

    def campaign(p: argparse.ArgumentParser, by: bool = True) -> argparse.ArgumentParser:
        p.add_argument("campaign", type=int, metavar="CAMPAIGN_ID")
        if by:
            p.add_argument("--by", required=True, metavar="NAME", help="the organizer who records or decides")
        with_data_dir(p)
        return p

    receive = campaign(money.add_parser("receive", help="record money received from one source"))
    receive.add_argument("--source", required=True, help='e.g. "cash box at the fair", "online"')
    receive.add_argument("--amount", required=True, help="e.g. 120.50, in the money goal's currency")
    receive.add_argument("--date", default="", help="YYYY-MM-DD (default: today)")
    receive.add_argument(
        "--sponsor", metavar="PUBLIC_NAME", help="a sponsor who agreed to be named in public"
    )
    receive.add_argument(
        "--member", metavar="NAME", help="a member's own contribution (in their data export)"
    )
    receive.set_defaults(run=managed(money_receive))

    spend = campaign(
        money.add_parser("spend", help="record an expense (counts once another organizer approves)")
    )
    spend.add_argument("--what", required=True, help="what it paid for (public once approved)")
    spend.add_argument("--amount", required=True)
    spend.add_argument("--date", default="", help="YYYY-MM-DD (default: today)")
    spend.add_argument("--receipt", default="", help="the receipt reference (public once approved)")
    spend.set_defaults(run=managed(money_spend))

    for name, helptext, approve in (
        ("approve", "approve an expense recorded by another organizer", True),
        ("reject", "reject an expense", False),
    ):
        sub = campaign(money.add_parser(name, help=helptext))
        sub.add_argument("expense", type=int, metavar="EXPENSE_ID")
        sub.set_defaults(run=managed(functools.partial(money_decide, approve=approve)))

    void = campaign(
        money.add_parser("void", help="void an entry (kept in the record, counting toward nothing)")
    )
    void.add_argument("entry", choices=("received", "expense"))
    void.add_argument("entry_id", type=int, metavar="ENTRY_ID")
    void.add_argument("--reason", required=True, help="why (kept in the record)")
    void.set_defaults(run=managed(money_void))

    correct = campaign(
        money.add_parser(
            "correct",
            help="correct an entry: it is voided with the reason and the right figures recorded as a new entry"
            " (a corrected expense counts once another organizer approves it)",
        )
    )
    correct.add_argument("entry", choices=("received", "expense"))
    correct.add_argument("entry_id", type=int, metavar="ENTRY_ID")
    correct.add_argument("--reason", required=True, help="why (kept in the record)")
    correct.add_argument("--amount", help="the right amount (default: as it was)")
    correct.add_argument("--date", help="YYYY-MM-DD (default: as it was)")
    correct.add_argument("--source", help="money received: where it came from (default: as it was)")
    correct.add_argument(
        "--sponsor",
        metavar="PUBLIC_NAME",
        help="money received: the named sponsor ('' for none; default: as it was)",
    )
    correct.add_argument("--what", help="an expense: what it paid for (default: as it was)")
    correct.add_argument("--receipt", help="an expense: the receipt reference (default: as it was)")
    correct.set_defaults(run=managed(money_correct))

    campaign(
        money.add_parser("list", help="the record: totals, money received, expenses"), by=False
    ).set_defaults(run=managed(money_list))
    export = campaign(money.add_parser("export", help="the record as CSV (for spreadsheets)"), by=False)
    export.add_argument("--to", type=Path, help="a new file only you can read (default: standard output)")
    export.set_defaults(run=managed(money_export))


async def _organizer_id(runtime: Runtime, name: str) -> int:
    return (await actions.member_named(runtime, name)).id


async def _totals(runtime: Runtime, campaign_id: int) -> str:
    """The campaign's money line after a change, in the group's language (as `money list` heads its table)."""
    found = await actions.money_record(runtime, campaign_id)
    return formats.money_line(found.totals, group_lang(runtime))


async def money_receive(runtime: Runtime, args: argparse.Namespace) -> str:
    entry = await actions.record_money_received(
        runtime, args.campaign, await _organizer_id(runtime, args.by), args.source, args.amount, args.date,
        sponsor=args.sponsor, member_name=args.member,
    )  # fmt: skip
    return group_lang(runtime).gettext(
        "received entry %(id)s: %(totals)s", id=entry, totals=await _totals(runtime, args.campaign)
    )


async def money_spend(runtime: Runtime, args: argparse.Namespace) -> str:
    expense = await actions.record_expense(
        runtime, args.campaign, await _organizer_id(runtime, args.by), args.what, args.amount, args.date,
        args.receipt,
    )  # fmt: skip
    return group_lang(runtime).gettext(
        "expense %(id)s recorded; it counts once another organizer approves it", id=expense
    )


async def money_decide(runtime: Runtime, args: argparse.Namespace, approve: bool) -> str:
    by = await _organizer_id(runtime, args.by)
    await actions.decide_expense(runtime, args.campaign, args.expense, by, approve)
    decided = N_("expense %(id)s approved: %(totals)s") if approve else N_("expense %(id)s rejected: %(totals)s")
    return group_lang(runtime).gettext(decided, id=args.expense, totals=await _totals(runtime, args.campaign))


async def money_void(runtime: Runtime, args: argparse.Namespace) -> str:
    by = await _organizer_id(runtime, args.by)
    await actions.void_entry(runtime, args.campaign, args.entry, args.entry_id, by, args.reason)
    voided = (
        N_("received entry %(id)s voided: %(totals)s")
        if args.entry == "received"
        else N_("expense %(id)s voided: %(totals)s")
    )
    return group_lang(runtime).gettext(voided, id=args.entry_id, totals=await _totals(runtime, args.campaign))


async def money_correct(runtime: Runtime, args: argparse.Namespace) -> str:
    """What is not given stays as the entry had it: a correction names only what was wrong."""
    by = await _organizer_id(runtime, args.by)
    found = await actions.money_record(runtime, args.campaign)
    entries: list[Any] = found.received if args.entry == "received" else found.expenses
    old = next((e for e in entries if e.id == args.entry_id), None)
    if old is None:
        missing = (
            N_("campaign %(id)s has no received entry %(entry)s")
            if args.entry == "received"
            else N_("campaign %(id)s has no expense %(entry)s")
        )
        raise actions.ActionError(Message(missing, id=args.campaign, entry=args.entry_id), "entry")
    amount = args.amount if args.amount is not None else plain_amount(old.amount)
    day = args.date if args.date is not None else old.day.isoformat()
    if args.entry == "received":
        sponsor = old.sponsor if args.sponsor is None else (args.sponsor or None)
        source = args.source if args.source is not None else old.source
        new_id = await actions.correct_received(
            runtime, args.campaign, args.entry_id, by, args.reason, source, amount, day, sponsor
        )
        return group_lang(runtime).gettext(
            "received entry %(id)s corrected as entry %(new)s: %(totals)s",
            id=args.entry_id, new=new_id, totals=await _totals(runtime, args.campaign),
        )  # fmt: skip
    what = args.what if args.what is not None else old.what
    receipt = args.receipt if args.receipt is not None else old.receipt
    new_id = await actions.correct_expense(
        runtime, args.campaign, args.entry_id, by, args.reason, what, amount, day, receipt
    )
    return group_lang(runtime).gettext(
        "expense %(id)s corrected as expense %(new)s; it counts once another organizer approves it",
        id=args.entry_id, new=new_id,
    )  # fmt: skip


async def money_list(runtime: Runtime, args: argparse.Namespace) -> str:
    found = await actions.money_record(runtime, args.campaign)
    rows: list[tuple[object, ...]] = []
    for r in found.received:
        rows.append((
            "received", r.id, r.day, r.source, plain_amount(r.amount), found.currency,
            f"sponsor: {r.sponsor}" if r.sponsor else "", f"member: {r.member_name}" if r.member_name else "",
            _history(r.history),
        ))  # fmt: skip
    for e in found.expenses:
        rows.append((
            "expense", e.id, e.day, e.what, plain_amount(e.amount), found.currency, e.state,
            f"receipt: {e.receipt}" if e.receipt else "", _history(e.history),
        ))  # fmt: skip
    # The lines for people are in the group's language; the table is for scripts and stays plain.
    lang = languages.language(actions.group_language(runtime))
    pending = lang.gettext(
        " (%(amount)s waiting for approval)", amount=formats.money(found.totals.pending, found.currency, lang)
    )
    header = formats.money_line(found.totals, lang) + (pending if found.totals.pending else "")
    return header + ("\n" + table(rows) if rows else "\n" + lang.gettext("nothing recorded yet"))


def _history(history: Any) -> str:
    parts = [f"corrects {history.corrects}"] if history.corrects else []
    if not history.counts:
        parts.append(f"voided {history.voided_at.date().isoformat()}: {history.void_reason}")
    return "; ".join(parts)


async def money_export(runtime: Runtime, args: argparse.Namespace) -> str | None:
    body = actions.money_csv(await actions.money_record(runtime, args.campaign))
    if args.to is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return None
    write_private_file(args.to, body.decode("utf-8"))
    return group_lang(runtime).gettext(
        "wrote the money record of campaign %(id)s to %(file)s", id=args.campaign, file=args.to
    )
