"""`fedgroup blueprint …`: publish a case study of a finished campaign, adopt another group's, edit and
publish the draft it becomes, and moderate who adopted ours."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from fedgroup import actions, store
from fedgroup.actions import blueprints as blueprint_actions
from fedgroup.cli.command import OneLineParser, group_lang, managed
from fedgroup.rules import campaigns, formats
from fedgroup.rules.languages import N_, Message
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    blueprint = commands.add_parser("blueprint", help="case studies other groups adopt, and adopting theirs")
    sub = blueprint.add_subparsers(dest="blueprint_command", required=True, parser_class=OneLineParser)

    publish = with_data_dir(sub.add_parser("publish", help="publish a blueprint of a closed campaign"))
    publish.add_argument("campaign_id", type=int)
    publish.add_argument("--title", required=True)
    publish.add_argument("--summary", required=True, help="a short summary, shown everywhere")
    publish.add_argument("--what-worked", default="", help="what worked (plain text)")
    publish.add_argument("--step", action="append", default=[], help="one step, in order (repeatable)")
    publish.add_argument("--do-differently", default="", help="what the group would do differently")
    publish.add_argument("--visibility", choices=("public", "followers"), default="public")
    publish.set_defaults(run=managed(blueprint_publish))

    with_data_dir(
        sub.add_parser("list", help="our blueprints and how many groups adopted each")
    ).set_defaults(run=managed(blueprint_list))
    show = with_data_dir(sub.add_parser("show", help="one of our blueprints: adoptions and combined results"))
    show.add_argument("id", type=int)
    show.set_defaults(run=managed(blueprint_show))
    for name, hidden in (("hide", True), ("unhide", False)):
        p = with_data_dir(
            sub.add_parser(name, help=f"{name} an adopter of ours (an adoption id from `show`)")
        )
        p.add_argument("adoption_id", type=int)
        p.set_defaults(run=managed(functools.partial(blueprint_hide, hidden=hidden)))

    adopt = with_data_dir(
        sub.add_parser("adopt", help="fetch a blueprint, show it, make a draft campaign of it")
    )
    adopt.add_argument("url")
    adopt.add_argument("--unlisted", action="store_true", help="counted on their page, but not linked")
    adopt.set_defaults(run=managed(blueprint_adopt, network=True))

    with_data_dir(sub.add_parser("drafts", help="draft campaigns (only organizers see them)")).set_defaults(
        run=managed(blueprint_drafts)
    )
    edit = with_data_dir(sub.add_parser("edit-draft", help="change a draft: text, goals, options, deadline"))
    edit.add_argument("id", type=int)
    edit.add_argument("--title")
    edit.add_argument("--body")
    edit.add_argument(
        "--goal", action="append", default=[], metavar="KIND:TARGET[:UNIT]", help="replaces a goal"
    )
    edit.add_argument(
        "--option", action="append", default=[], metavar="LABEL=KIND:AMOUNT", help="replaces all options"
    )
    edit.add_argument("--deadline", help="ISO 8601 date-time, or 'none'")
    edit.add_argument("--visibility", choices=campaigns.VISIBILITIES)
    edit.add_argument("--unlisted", choices=("yes", "no"), help="keep our campaign unlisted on their page")
    edit.set_defaults(run=managed(blueprint_edit_draft))
    publish_draft = with_data_dir(sub.add_parser("publish-draft", help="publish a draft campaign"))
    publish_draft.add_argument("id", type=int)
    publish_draft.set_defaults(run=managed(blueprint_publish_draft))


async def blueprint_publish(runtime: Runtime, args: argparse.Namespace) -> str:
    number = await blueprint_actions.publish_blueprint(
        runtime, args.campaign_id, title=args.title, summary=args.summary, what_worked=args.what_worked,
        steps=args.step, do_differently=args.do_differently, visibility=args.visibility,
    )  # fmt: skip
    return f"{runtime.ids.base_url}/blueprints/{number}"


async def blueprint_list(runtime: Runtime, args: argparse.Namespace) -> str:
    rows = []
    for row in await runtime.db.read(store.blueprints.listing):
        page = await blueprint_actions.blueprint_page(runtime, row.id)
        assert page is not None
        rows.append((row.id, f"{runtime.ids.base_url}/blueprints/{row.id}", page.counted, row.title))
    return "\n".join("\t".join(str(v) for v in r) for r in rows) if rows else group_lang(runtime).gettext("no blueprints yet")


async def blueprint_show(runtime: Runtime, args: argparse.Namespace) -> str:
    page = await blueprint_actions.blueprint_page(runtime, args.id)
    if page is None:
        raise actions.ActionError(Message(N_("there is no blueprint %(id)s"), id=args.id), "id")
    lang = group_lang(runtime)
    adopted = lang.ngettext("adopted by %(num)s group", "adopted by %(num)s groups", page.counted)
    lines = [page.facts.study.title, adopted]
    for a in page.adoptions:
        flags = [f for f, on in (("unlisted", not a.listed), ("hidden", a.hidden)) if on]
        lines.append(
            f"{a.id}\t{a.group}\t{a.url}\t{a.outcome or 'running'}"
            + (f"\t{','.join(flags)}" if flags else "")
        )
    c = page.combined
    lines.append(
        lang.ngettext(
            "combined: %(num)s group ran it, %(finished)s finished, %(succeeded)s succeeded",
            "combined: %(num)s groups ran it, %(finished)s finished, %(succeeded)s succeeded",
            c.groups,
            finished=c.finished,
            succeeded=c.succeeded,
        )
    )
    lines += [
        "  " + lang.gettext(
            "%(pledged)s pledged, %(given)s given",
            pledged=formats.quantity(line.kind, line.pledged, line.unit, lang),
            given=formats.quantity(line.kind, line.fulfilled, line.unit, lang),
        )
        for line in c.lines
    ]  # fmt: skip
    return "\n".join(lines)


async def blueprint_hide(runtime: Runtime, args: argparse.Namespace, hidden: bool) -> str:
    await blueprint_actions.hide_adoption(runtime, args.adoption_id, hidden)
    lang = group_lang(runtime)
    if hidden:
        return lang.gettext("adoption %(id)s hidden", id=args.adoption_id)
    return lang.gettext("adoption %(id)s shown", id=args.adoption_id)


async def blueprint_adopt(runtime: Runtime, args: argparse.Namespace) -> str:
    fetched = await blueprint_actions.fetch_blueprint(runtime, args.url)
    b = fetched.blueprint
    campaign_id = await blueprint_actions.adopt_blueprint(
        runtime, args.url, unlisted=args.unlisted, fetched=fetched
    )
    units = campaigns.units_of(b.template.goals)
    preview = [
        f"{b.title} — by {fetched.group.id}",
        b.summary,
        *(f"{i}. {s}" for i, s in enumerate(b.steps, 1)),
        "goals: " + " · ".join(campaigns.format_quantity(g.kind, g.target, g.unit) for g in b.template.goals),
        "options: "
        + " · ".join(
            f"{o.label} ({campaigns.format_quantity(o.kind, o.amount, units.get(o.kind))})"
            for o in b.template.options
        ),
        group_lang(runtime).gettext(
            "draft campaign %(id)s made: edit it (`fedgroup blueprint edit-draft %(id)s …`), then"
            " `fedgroup blueprint publish-draft %(id)s`",
            id=campaign_id,
        ),
    ]
    return "\n".join(preview)


async def blueprint_drafts(runtime: Runtime, args: argparse.Namespace) -> str:
    drafts = await runtime.db.read(store.campaigns.drafts)
    return "\n".join(f"{d.id}\t{d.title}\t{d.adapted_from or ''}" for d in drafts) if drafts else group_lang(runtime).gettext("no drafts")


async def blueprint_edit_draft(runtime: Runtime, args: argparse.Namespace) -> str:
    state = await runtime.db.read(actions.load_campaign, args.id)
    if state is None or not state.row.draft or state.row.deleted_at is not None:
        raise actions.ActionError(Message(N_("there is no draft %(id)s"), id=args.id), "id")
    row = state.row
    goals = {g.kind: g for g in state.goals}
    for text in args.goal:
        goal = campaigns.parse_goal(text)
        goals[goal.kind] = goal
    options = [campaigns.parse_option(o) for o in args.option] if args.option else list(state.options)
    if args.deadline is None:
        deadline = row.deadline
    else:
        deadline = None if args.deadline == "none" else campaigns.parse_deadline(args.deadline)
    await blueprint_actions.edit_draft(
        runtime, args.id, title=row.title if args.title is None else args.title,
        body=row.body if args.body is None else args.body, goals=list(goals.values()), options=options,
        deadline=deadline, visibility=args.visibility or row.visibility, multiple_choice=row.multiple_choice,
        unlisted=None if args.unlisted is None else args.unlisted == "yes",
    )  # fmt: skip
    return group_lang(runtime).gettext("draft %(id)s saved", id=args.id)


async def blueprint_publish_draft(runtime: Runtime, args: argparse.Namespace) -> str:
    await blueprint_actions.publish_draft(runtime, args.id)
    return runtime.ids.campaign(args.id)
