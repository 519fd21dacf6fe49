"""fedgroup campaign create | list | show | edit | close | reopen | delete | outcome."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fedgroup import actions, store
from fedgroup.cli.command import OneLineParser, group_lang, managed, table
from fedgroup.rules import campaign_state, campaigns, formats, languages, sanitize, timezones
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    campaign = commands.add_parser("campaign", help="create and run campaigns").add_subparsers(
        dest="campaign_command", required=True, parser_class=OneLineParser
    )
    create = with_data_dir(campaign.add_parser("create", help="create a campaign and print its URL"))
    create.add_argument("--title", required=True)
    create.add_argument("--body", required=True, help="what the campaign is about (plain text)")
    create.add_argument(
        "--goal", action="append", default=[], metavar="KIND:TARGET[:UNIT]",
        help="a goal, e.g. money:1000:EUR, hours:40, items:30:meals, people:50 (repeatable)",
    )  # fmt: skip
    create.add_argument(
        "--option", action="append", default=[], metavar="LABEL=KIND:AMOUNT",
        help='a pledge option, e.g. "Bring food=items:1" (repeatable; at most 4 federate as a poll)',
    )  # fmt: skip
    create.add_argument("--deadline", help="ISO 8601 date-time, e.g. 2027-03-01T18:00Z; without an offset, the group's time zone")
    create.add_argument("--visibility", choices=campaigns.VISIBILITIES, default="public")
    create.add_argument("--multiple", action="store_true", help="people may choose several options")
    create.set_defaults(run=managed(campaign_create))

    with_data_dir(campaign.add_parser("list", help="list campaigns")).set_defaults(run=managed(campaign_list))
    show = with_data_dir(campaign.add_parser("show", help="a campaign with its totals and comments"))
    show.add_argument("id", type=int)
    show.set_defaults(run=managed(campaign_show))

    edit = with_data_dir(campaign.add_parser("edit", help="change title, text, deadline or targets"))
    edit.add_argument("id", type=int)
    edit.add_argument("--title")
    edit.add_argument("--body")
    edit.add_argument("--deadline", help="ISO 8601 date-time, or 'none' to remove it")
    edit.add_argument("--target", action="append", default=[], metavar="KIND:TARGET", help="new goal target")
    edit.set_defaults(run=managed(campaign_edit))

    for name, helptext, handler in (
        ("close", "close a campaign to pledges", campaign_close),
        ("delete", "delete a campaign everywhere it went, with its pledges", campaign_delete),
    ):
        sub = with_data_dir(campaign.add_parser(name, help=helptext))
        sub.add_argument("id", type=int)
        sub.set_defaults(run=managed(handler))

    reopen = with_data_dir(
        campaign.add_parser("reopen", help="open a closed campaign again (its totals move again)")
    )
    reopen.add_argument("id", type=int)
    reopen.add_argument(
        "--deadline", help="ISO 8601 date-time, or 'none'; without it the old deadline stays if still ahead"
    )
    reopen.set_defaults(run=managed(campaign_reopen))

    outcome = with_data_dir(campaign.add_parser("outcome", help="publish what the campaign achieved"))
    outcome.add_argument("id", type=int)
    outcome.add_argument("--report", required=True, help="what was achieved (plain text)")
    outcome.set_defaults(run=managed(campaign_outcome))


def _deadline(text: str | None, zone_name: str) -> datetime | None:
    """ISO 8601 with an offset, or a date and time without one: the group's local time."""
    if text is None or text.strip().lower() == "none":
        return None
    if timezones.is_local_input(text):
        return timezones.from_local(text, zone_name)
    return campaigns.parse_deadline(text)


async def campaign_create(runtime: Runtime, args: argparse.Namespace) -> str:
    campaign_id = await actions.create_campaign(
        runtime,
        args.title,
        args.body,
        goals=[campaigns.parse_goal(g) for g in args.goal],
        options=[campaigns.parse_option(o) for o in args.option],
        deadline=_deadline(args.deadline, runtime.site.timezone),
        visibility=args.visibility,
        multiple_choice=args.multiple,
    )
    return runtime.ids.campaign(campaign_id)


async def campaign_list(runtime: Runtime, args: argparse.Namespace) -> str:
    lang = languages.language(actions.group_language(runtime))
    rows = await runtime.db.read(store.campaigns.listing, campaigns.VISIBILITIES)
    lines = []
    for row in rows:
        state = await runtime.db.read(actions.load_campaign, row.id)
        assert state is not None
        status = "open" if state.is_open(runtime.now()) else "closed"
        lines.append((row.id, status, row.visibility, row.title, _progress(state, lang)))
    return table(lines) if lines else lang.gettext("no campaigns yet")


def _progress(state: campaign_state.CampaignState, lang: languages.Language) -> str:
    """€20 of €500 · 3 of 40 hours, in the group's language (rules/formats.py)."""
    return formats.joined(
        [
            formats.progress(p.goal.kind, p.pledged, p.goal.target, p.goal.unit, lang, state.row.language)
            for p in state.tally.progress
        ]
    )


async def campaign_show(runtime: Runtime, args: argparse.Namespace) -> str:
    state = await actions.campaign(runtime, args.id)
    row = state.row
    # Field names stay as they are (scripts read them); amounts and words for people follow the group's language.
    lang = languages.language(actions.group_language(runtime))
    progress = _progress(state, lang) or lang.gettext("no goals")
    lines = [
        f"{row.title}  ({runtime.ids.campaign(row.id)})",
        f"status: {'open' if state.is_open(runtime.now()) else 'closed'} · visibility: {row.visibility}"
        + (f" · deadline: {row.deadline.isoformat()}" if row.deadline else ""),
        f"progress: {progress}",
        f"pledgers: {state.tally.pledgers} (including {state.tally.partner_groups} partner groups)",
    ]
    counts = dict(state.tally.option_counts)
    for option in state.options:
        count = counts.get(option.label, 0)
        lines.append(
            f"option: {option.label} = {option.kind}:{campaigns.amount_text(option.amount)} ({count})"
        )
    if row.outcome:
        lines.append(f"outcome: {row.outcome}")
    lines.append("")
    lines.append(row.body)
    for comment in await runtime.db.read(store.campaigns.comments, row.id):
        lines.append(f"\nreply from {comment.author}:\n{sanitize.html_to_text(comment.content)}")
    return "\n".join(lines)


async def campaign_edit(runtime: Runtime, args: argparse.Namespace) -> str:
    state = await actions.campaign(runtime, args.id)
    targets = {}
    for text in args.target:
        goal = campaigns.parse_goal(text if text.count(":") >= 1 else text + ":")
        targets[goal.kind] = goal.target
    await actions.edit_campaign(
        runtime,
        args.id,
        args.title if args.title is not None else state.row.title,
        args.body if args.body is not None else state.row.body,
        _deadline(args.deadline, runtime.site.timezone) if args.deadline is not None else state.row.deadline,
        targets,
    )
    return group_lang(runtime).gettext("campaign %(id)s updated", id=args.id)


async def campaign_close(runtime: Runtime, args: argparse.Namespace) -> str:
    closed = await actions.close_campaign(runtime, args.id)
    if closed:
        return group_lang(runtime).gettext("campaign %(id)s closed", id=args.id)
    return group_lang(runtime).gettext("campaign %(id)s was already closed", id=args.id)


async def campaign_reopen(runtime: Runtime, args: argparse.Namespace) -> str:
    if args.deadline is None:
        await actions.reopen_campaign(runtime, args.id)  # the deadline it had, if still ahead
    else:
        await actions.reopen_campaign(runtime, args.id, _deadline(args.deadline, runtime.site.timezone))
    return group_lang(runtime).gettext("campaign %(id)s reopened", id=args.id)


async def campaign_delete(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.delete_campaign(runtime, args.id)
    return group_lang(runtime).gettext("campaign %(id)s deleted", id=args.id)


async def campaign_outcome(runtime: Runtime, args: argparse.Namespace) -> str:
    return await actions.report_outcome(runtime, args.id, args.report)
