"""fedgroup pledge add | withdraw | list | fulfil: members' pledges."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from fedgroup import actions, store
from fedgroup.cli.command import OneLineParser, group_lang, managed, table
from fedgroup.rules import campaigns
from fedgroup.rules.languages import N_, Message
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    pledge = commands.add_parser("pledge", help="members' pledges")
    sub = pledge.add_subparsers(dest="pledge_command", required=True, parser_class=OneLineParser)

    def target(p: argparse.ArgumentParser) -> None:
        which = p.add_mutually_exclusive_group(required=True)
        which.add_argument("--campaign", type=int, help="one of our campaigns")
        which.add_argument(
            "--partner", type=int, help="a partner group's campaign (see `coalition campaigns`)"
        )
        p.add_argument("--member", required=True, help="the member's name")

    add = with_data_dir(sub.add_parser("add", help="pledge (or change a pledge) for a member"))
    target(add)
    how = add.add_mutually_exclusive_group(required=True)
    how.add_argument("--option", help="one of the campaign's pledge options, by label")
    how.add_argument("--amount", metavar="KIND:AMOUNT", help="e.g. hours:3 or money:25")
    add.add_argument(
        "--note", help="a note for the organizers (never federated); a change without --note keeps the note"
    )
    add.set_defaults(run=managed(pledge_add))

    withdraw = with_data_dir(sub.add_parser("withdraw", help="withdraw a member's pledge"))
    target(withdraw)
    withdraw.add_argument("--kind", choices=campaigns.GOAL_KINDS, help="only the pledge of this kind")
    withdraw.set_defaults(run=managed(pledge_withdraw))

    listing = with_data_dir(sub.add_parser("list", help="pledges to a campaign, or of a member"))
    which = listing.add_mutually_exclusive_group(required=True)
    which.add_argument("--campaign", type=int)
    which.add_argument("--member")
    listing.set_defaults(run=managed(pledge_list))

    fulfil = with_data_dir(sub.add_parser("fulfil", help="mark a pledge fulfilled (by its id from `list`)"))
    fulfil.add_argument("id", type=int)
    fulfil.add_argument("--undo", action="store_true", help="mark it not fulfilled")
    fulfil.set_defaults(run=managed(pledge_fulfil))


def _kind_amount(text: str) -> tuple[str, str]:
    kind, sep, amount = text.partition(":")
    if not sep:
        raise actions.ActionError(N_("--amount is KIND:AMOUNT, e.g. hours:3"), "amount")
    return kind.strip().lower(), amount.strip()


async def pledge_add(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.member)
    kind, amount = _kind_amount(args.amount) if args.amount else (None, None)
    if args.campaign is not None:
        await actions.pledge(runtime, member.id, args.campaign, args.option, kind, amount, args.note)
    else:
        await actions.pledge_to_partner(
            runtime, member.id, args.partner, args.option, kind, amount, args.note
        )
    return group_lang(runtime).gettext("pledge recorded for %(name)s", name=member.name)


async def pledge_withdraw(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.member)
    pledges = [
        p
        for p in await runtime.db.read(store.pledges.pledges_of_member, member.id)
        if (p.campaign_id, p.partner_campaign_id) == (args.campaign, args.partner)
        and args.kind in (None, p.kind)
    ]
    if not pledges:
        raise actions.ActionError(Message(N_("%(name)s has no such pledge"), name=member.name), "pledge")
    for p in pledges:
        await actions.withdraw_pledge(runtime, member.id, p.id)
    return group_lang(runtime).ngettext(
        "withdrew %(num)s pledge of %(name)s", "withdrew %(num)s pledges of %(name)s", len(pledges), name=member.name
    )


async def pledge_list(runtime: Runtime, args: argparse.Namespace) -> str:
    if args.campaign is not None:
        await actions.campaign(runtime, args.campaign)
        pledges = await runtime.db.read(store.pledges.pledges_for_campaign, args.campaign)
    else:
        member = await actions.member_named(runtime, args.member)
        pledges = await runtime.db.read(store.pledges.pledges_of_member, member.id)
    rows = [
        (
            p.id,
            p.member_name,
            f"campaign {p.campaign_id}" if p.campaign_id else f"partner {p.partner_campaign_id}",
            f"{p.kind}:{campaigns.amount_text(p.amount)}",
            p.option_label,
            "fulfilled" if p.fulfilled else "pledged",
            p.note,
        )
        for p in pledges
    ]
    return table(rows) if rows else group_lang(runtime).gettext("no pledges")


async def pledge_fulfil(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.set_fulfilled(runtime, args.id, not args.undo)
    if args.undo:
        return group_lang(runtime).gettext("pledge %(id)s marked not fulfilled", id=args.id)
    return group_lang(runtime).gettext("pledge %(id)s marked fulfilled", id=args.id)
