"""fedgroup coalition ... (partner groups, their campaigns and aggregates) and fedgroup followers ... (who
follows the group, manual approval)."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from fedgroup import actions, store
from fedgroup.cli.command import OneLineParser, group_lang, managed, table
from fedgroup.rules import campaign_state, campaigns
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    coalition = commands.add_parser("coalition", help="partner groups on other fedgroup servers")
    sub = coalition.add_subparsers(dest="coalition_command", required=True, parser_class=OneLineParser)
    follow = with_data_dir(sub.add_parser("follow", help="follow another group: @handle@host or actor URL"))
    follow.add_argument("group")
    follow.set_defaults(run=managed(coalition_follow, network=True))
    with_data_dir(sub.add_parser("list", help="groups we follow")).set_defaults(run=managed(coalition_list))
    with_data_dir(sub.add_parser("campaigns", help="partner groups' campaigns")).set_defaults(
        run=managed(coalition_campaigns)
    )
    leave = with_data_dir(sub.add_parser("leave", help="stop following a group (withdraws our pledges)"))
    leave.add_argument("group")
    leave.set_defaults(run=managed(coalition_leave, network=True))
    with_data_dir(
        sub.add_parser("partners", help="partner groups, partner requests and rejected groups")
    ).set_defaults(run=managed(coalition_partners))
    for name, accept in (("accept-partner", True), ("reject-partner", False)):
        what = "count its aggregate pledges" if accept else "stop counting its aggregate pledges"
        p = with_data_dir(sub.add_parser(name, help=f"{what} (a following group's actor URL)"))
        p.add_argument("actor")
        p.set_defaults(run=managed(functools.partial(coalition_answer_partner, accept=accept)))
    with_data_dir(
        sub.add_parser("held", help="partner aggregates waiting for an organizer (id, campaign, group, why)")
    ).set_defaults(run=managed(coalition_held))
    for name, approve in (("approve-held", True), ("reject-held", False)):
        p = with_data_dir(
            sub.add_parser(name, help=f"{name.split('-')[0]} a held aggregate (its id from `held`)")
        )
        p.add_argument("id", type=int)
        p.set_defaults(run=managed(functools.partial(coalition_answer_held, approve=approve)))


async def coalition_follow(runtime: Runtime, args: argparse.Namespace) -> str:
    actor_id = await actions.follow_group_by_handle(runtime, args.group)
    return group_lang(runtime).gettext(
        "follow request sent to %(actor)s; its campaigns arrive once it accepts", actor=actor_id
    )


async def coalition_list(runtime: Runtime, args: argparse.Namespace) -> str:
    following = await runtime.db.read(store.follows.list_following)
    return table([(f.actor_id, f.state) for f in following]) if following else group_lang(runtime).gettext("we follow no groups yet")


async def coalition_campaigns(runtime: Runtime, args: argparse.Namespace) -> str:
    rows = []
    for partner in await runtime.db.read(store.campaigns.partner_campaigns):
        goals, options = actions.partner_goals(partner)
        rows.append(
            (
                partner.id,
                "closed" if partner.closed else "open",
                partner.group_actor,
                partner.title,
                " · ".join(f"{o.label}={o.kind}:{campaigns.amount_text(o.amount)}" for o in options),
            )
        )
    return table(rows) if rows else group_lang(runtime).gettext("no partner campaigns yet")


async def coalition_leave(runtime: Runtime, args: argparse.Namespace) -> str:
    following = {f.actor_id for f in await runtime.db.read(store.follows.list_following)}
    actor_id = args.group if args.group in following else await actions.resolve_account(runtime, args.group)
    await actions.leave_group(runtime, actor_id)
    return group_lang(runtime).gettext("left %(actor)s", actor=actor_id)


async def coalition_partners(runtime: Runtime, args: argparse.Namespace) -> str:
    views = await actions.partner_groups(runtime)
    rows = [
        (
            v.actor_id,
            v.status,
            v.via,
            v.actor_type,
            f"members<={v.published_bound}" if v.published_bound is not None else "members:unpublished",
            f"bound={v.bound}",
            f"held={v.held}",
        )
        for v in views
    ]
    return table(rows) if rows else group_lang(runtime).gettext("no partner groups or requests")


async def coalition_answer_partner(runtime: Runtime, args: argparse.Namespace, accept: bool) -> str:
    if accept:
        counted = await actions.accept_partner(runtime, args.actor)
        return group_lang(runtime).ngettext(
            "accepted %(actor)s as a partner group; %(num)s waiting aggregate now counts",
            "accepted %(actor)s as a partner group; %(num)s waiting aggregates now count",
            counted,
            actor=args.actor.strip(),
        )
    await actions.reject_partner(runtime, args.actor)
    return group_lang(runtime).gettext(
        "rejected %(actor)s as a partner group; its aggregates are not counted", actor=args.actor.strip()
    )


def _aggregate_text(contributions_json: str) -> str:
    aggregate = campaign_state.group_aggregate(0, contributions_json)
    return " · ".join(
        f"{line.contribution.kind}:{campaigns.amount_text(line.contribution.amount)}"
        + (f" ({line.option})" if line.option else "")
        + f" from {line.pledgers}"
        for line in aggregate.lines
    )


async def coalition_held(runtime: Runtime, args: argparse.Namespace) -> str:
    held = await actions.held_aggregates(runtime)
    rows = [
        (
            h.id,
            h.campaign_id,
            h.group_actor,
            f"pledgers={h.pledgers}",
            _aggregate_text(h.contributions),
            h.reason,
        )
        for h in held
    ]
    return table(rows) if rows else group_lang(runtime).gettext("no aggregates are waiting")


async def coalition_answer_held(runtime: Runtime, args: argparse.Namespace, approve: bool) -> str:
    held = await actions.answer_held_aggregate(runtime, args.id, approve)
    if approve:
        return group_lang(runtime).gettext(
            "approved aggregate %(id)s of %(actor)s: it counts toward campaign %(campaign)s",
            id=held.id, actor=held.group_actor, campaign=held.campaign_id,
        )  # fmt: skip
    return group_lang(runtime).gettext("rejected aggregate %(id)s of %(actor)s", id=held.id, actor=held.group_actor)


def add_follower_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    followers = commands.add_parser("followers", help="who follows the group (counts; manual approval)")
    sub = followers.add_subparsers(dest="followers_command", required=True, parser_class=OneLineParser)
    with_data_dir(sub.add_parser("count", help="how many accounts follow the group")).set_defaults(
        run=managed(followers_count)
    )
    with_data_dir(sub.add_parser("requests", help="follow requests awaiting approval")).set_defaults(
        run=managed(followers_requests)
    )
    for name, approve in (("approve", True), ("reject", False)):
        p = with_data_dir(sub.add_parser(name, help=f"{name} a follow request (actor URL)"))
        p.add_argument("actor")
        p.set_defaults(run=managed(functools.partial(followers_answer, approve=approve)))
    remove = with_data_dir(sub.add_parser("remove", help="make an account stop following (sends Reject)"))
    remove.add_argument("actor")
    remove.set_defaults(run=managed(followers_remove))


async def followers_count(runtime: Runtime, args: argparse.Namespace) -> str:
    return str(await runtime.db.read(store.follows.count_followers))


async def followers_requests(runtime: Runtime, args: argparse.Namespace) -> str:
    pending = await runtime.db.read(store.follows.pending_followers)
    return "\n".join(f.actor_id for f in pending) if pending else group_lang(runtime).gettext("no follow requests waiting")


async def followers_answer(runtime: Runtime, args: argparse.Namespace, approve: bool) -> str:
    await actions.answer_follower(runtime, args.actor, approve)
    if approve:
        return group_lang(runtime).gettext("approved %(actor)s", actor=args.actor)
    return group_lang(runtime).gettext("rejected %(actor)s", actor=args.actor)


async def followers_remove(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.remove_follower(runtime, args.actor.strip())
    return group_lang(runtime).gettext("removed follower %(actor)s", actor=args.actor.strip())
