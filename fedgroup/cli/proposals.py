"""fedgroup proposal create | list | show | close: proposals members decide together (they take positions in
the web UI). `show` prints who took which position only for a named proposal: an anonymous one has no names
to print."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from fedgroup import actions
from fedgroup.cli.command import OneLineParser, group_lang, managed, table
from fedgroup.rules import proposals as rules
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    proposal = commands.add_parser("proposal", help="proposals members decide together").add_subparsers(
        dest="proposal_command", required=True, parser_class=OneLineParser
    )
    create = with_data_dir(proposal.add_parser("create", help="open a proposal; prints its id and page"))
    create.add_argument("--by", required=True, metavar="NAME", help="the member who proposes")
    create.add_argument("--title", required=True)
    create.add_argument("--text", default="", help="what is proposed, and why")
    create.add_argument(
        "--closes", required=True, help="closing time: 2027-01-15T18:00 in the group's time zone, or ISO 8601"
    )
    create.add_argument("--kind", choices=rules.KINDS, default="consent", help="how members take part")
    create.add_argument(
        "--option", action="append", default=[], metavar="LABEL", help="an option (choice, ranked, score)"
    )
    create.add_argument("--quorum", type=int, help="members who must take part for the result to stand")
    create.add_argument(
        "--anonymous", action="store_true", help="positions never stored with names (organizers only)"
    )
    create.set_defaults(run=managed(proposal_create))

    with_data_dir(proposal.add_parser("list", help="every proposal: open ones first")).set_defaults(
        run=managed(proposal_list)
    )
    show = with_data_dir(proposal.add_parser("show", help="a proposal, its count and its outcome"))
    show.add_argument("proposal", type=int, metavar="PROPOSAL_ID")
    show.set_defaults(run=managed(proposal_show))
    close = with_data_dir(proposal.add_parser("close", help="close a proposal now (its facilitator)"))
    close.add_argument("proposal", type=int, metavar="PROPOSAL_ID")
    close.add_argument("--by", required=True, metavar="NAME", help="the organizer who closes it")
    close.set_defaults(run=managed(proposal_close))


async def proposal_create(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.by)
    proposal_id = await actions.proposals.create_proposal(
        runtime, member.id, args.title, args.text, args.kind, args.option,
        rules.parse_closing(args.closes, runtime.site.timezone), args.quorum, args.anonymous,
    )  # fmt: skip
    return f"proposal {proposal_id}: {runtime.ids.base_url}/proposals/{proposal_id}"


async def proposal_list(runtime: Runtime, args: argparse.Namespace) -> str:
    rows = await actions.proposals.list_proposals(runtime)
    if not rows:
        return group_lang(runtime).gettext("no proposals yet")
    now = runtime.now()
    return table([
        (row.id, "open" if rules.is_open(row.status, row.closes_at, now) else "closed", row.kind,
         row.closes_at.isoformat(), "anonymous" if row.anonymous else "named", row.title)
        for row in rows
    ])  # fmt: skip


async def proposal_show(runtime: Runtime, args: argparse.Namespace) -> str:
    state = await actions.proposals.load_proposal(runtime, args.proposal)
    row = state.row
    status = "open" if state.is_open else "closed"
    lines = [
        f"{row.title}",
        f"{status} · {row.kind} · closes {row.closes_at.isoformat()}"
        + (" · anonymous" if row.anonymous else ""),
        *state.count_lines,
    ]
    for reason in state.tally.blocks:
        lines.append(f"block: {reason}")
    if row.anonymous:
        lines.append("positions: anonymous, not stored with names")
    else:
        for p in state.named:
            text = rules.position_text(row.kind, row.options, rules.decode_choice(p.choice))
            lines.append(f"position: {p.member_name}: {text}" + (f" ({p.reason})" if p.reason else ""))
    if row.outcome:
        lines.append(f"outcome: {row.outcome}")
    if row.published_at:
        lines.append(f"published to {row.published_visibility} at {row.published_at.isoformat()}")
    return "\n".join(lines)


async def proposal_close(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.by)
    result = await actions.proposals.close_proposal(runtime, args.proposal, member.id)
    return group_lang(runtime).gettext(
        "proposal %(id)s closed: %(result)s", id=args.proposal, result=rules.result_in(result, group_lang(runtime))
    )
