"""fedgroup gathering create | edit | cancel | list | show | ics: gatherings from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fedgroup import actions
from fedgroup.cli.command import OneLineParser, group_lang, managed, table
from fedgroup.cli.members import write_private_file
from fedgroup.protocol import gatherings as documents
from fedgroup.rules import formats
from fedgroup.rules.languages import Language
from fedgroup.runtime import Runtime

_FIELDS = (
    ("--title", "title", "what it is called"),
    ("--description", "description", "what it is (plain text; a blank line starts a paragraph)"),
    ("--starts", "starts", "start: 2027-01-15T18:00 in --timezone, or ISO 8601 with an offset"),
    ("--ends", "ends", "end, written as --starts"),
    ("--timezone", "timezone", "IANA zone of the times (default: the group's)"),
    ("--place", "place", "where, as people say it"),
    ("--latitude", "latitude", "optional, with --longitude"),
    ("--longitude", "longitude", "optional, with --latitude"),
    ("--online-url", "online_url", "a link to join online"),
    ("--capacity", "capacity", "how many can come (default: no limit; then a waiting list)"),
    ("--campaign", "campaign", "CAMPAIGN_ID: who comes counts toward its people goal"),
    ("--visibility", "visibility", "public (default), followers or members"),
)


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    gathering = commands.add_parser("gathering", help="gatherings: a time and a place").add_subparsers(
        dest="gathering_command", required=True, parser_class=OneLineParser
    )
    create = with_data_dir(gathering.add_parser("create", help="create a gathering (federates as an Event)"))
    for flag, dest, helptext in _FIELDS:
        required = dest in ("title", "starts", "ends")
        default = "public" if dest == "visibility" else ""
        create.add_argument(flag, dest=dest, required=required, default=default, help=helptext)
    create.add_argument("--by", metavar="NAME", help="the organizer creating it")
    create.set_defaults(run=managed(gathering_create))

    edit = with_data_dir(gathering.add_parser("edit", help="change a gathering (an Update federates)"))
    edit.add_argument("gathering", type=int, metavar="GATHERING_ID")
    for flag, dest, helptext in _FIELDS:
        edit.add_argument(flag, dest=dest, default=None, help=f"{helptext} (default: unchanged)")
    edit.set_defaults(run=managed(gathering_edit))

    cancel = with_data_dir(gathering.add_parser("cancel", help="cancel a gathering for good"))
    cancel.add_argument("gathering", type=int, metavar="GATHERING_ID")
    cancel.set_defaults(run=managed(gathering_cancel))

    with_data_dir(gathering.add_parser("list", help="gatherings not yet over")).set_defaults(
        run=managed(gathering_list)
    )
    show = with_data_dir(gathering.add_parser("show", help="one gathering: when, where, counts"))
    show.add_argument("gathering", type=int, metavar="GATHERING_ID")
    show.set_defaults(run=managed(gathering_show))
    ics = with_data_dir(gathering.add_parser("ics", help="a gathering as an iCalendar file"))
    ics.add_argument("gathering", type=int, metavar="GATHERING_ID")
    ics.add_argument("--to", type=Path, help="a new file (default: standard output)")
    ics.set_defaults(run=managed(gathering_ics))


async def gathering_create(runtime: Runtime, args: argparse.Namespace) -> str:
    by = (await actions.member_named(runtime, args.by)).id if args.by else None
    form = actions.GatheringForm(**{dest: getattr(args, dest) for _, dest, _ in _FIELDS})
    gathering_id = await actions.create_gathering(runtime, by, form)
    return runtime.ids.gathering(gathering_id)


async def _state(runtime: Runtime, gathering_id: int) -> actions.GatheringState:
    return await runtime.db.read(actions.existing_gathering, gathering_id)


async def gathering_edit(runtime: Runtime, args: argparse.Namespace) -> str:
    row = (await _state(runtime, args.gathering)).row
    current = {
        "title": row.title, "description": row.description, "starts": row.starts_at.isoformat(),
        "ends": row.ends_at.isoformat(), "timezone": row.timezone, "place": row.place,
        "latitude": "" if row.latitude is None else str(row.latitude),
        "longitude": "" if row.longitude is None else str(row.longitude), "online_url": row.online_url or "",
        "capacity": "" if row.capacity is None else str(row.capacity),
        "campaign": "" if row.campaign_id is None else str(row.campaign_id), "visibility": row.visibility,
    }  # fmt: skip
    for _, dest, _ in _FIELDS:
        if getattr(args, dest) is not None:
            current[dest] = getattr(args, dest)
    await actions.edit_gathering(runtime, args.gathering, actions.GatheringForm(**current))
    return group_lang(runtime).gettext(
        "gathering %(id)s changed; followers and everyone coming hear of it", id=args.gathering
    )


async def gathering_cancel(runtime: Runtime, args: argparse.Namespace) -> str:
    if await actions.cancel_gathering(runtime, args.gathering):
        return group_lang(runtime).gettext(
            "gathering %(id)s cancelled; followers and everyone coming hear of it", id=args.gathering
        )
    return group_lang(runtime).gettext("gathering %(id)s was already cancelled", id=args.gathering)


def _places(state: actions.GatheringState) -> str:
    c = state.counts
    text = f"{c.going} going" if c.capacity is None else f"{c.going}/{c.capacity} going"
    return text + (f", {c.waiting} waiting" if c.waiting else "")


def _places_in(state: actions.GatheringState, lang: Language) -> str:
    """How many are going (of how many places) and waiting, in `lang`; English as `_places` says it."""
    if lang.is_source:
        return _places(state)
    c = state.counts
    going = formats.number(c.going, lang)
    if c.capacity is None:
        text = lang.gettext("%(count)s going", count=going)
    else:
        capacity = formats.number(c.capacity, lang)
        text = lang.gettext("%(going)s of %(capacity)s places taken", going=going, capacity=capacity)
    if c.waiting:
        text += ", " + lang.gettext("%(count)s waiting", count=formats.number(c.waiting, lang))
    return text


async def gathering_list(runtime: Runtime, args: argparse.Namespace) -> str:
    states = await runtime.db.read(actions.upcoming, runtime.now(), ("public", "followers", "members"))
    rows = [
        (s.id, s.row.status, documents.when_text(s.row), s.row.title, _places(s), s.row.visibility)
        for s in states
    ]
    return table(rows) if rows else group_lang(runtime).gettext("no gathering coming up")


async def gathering_show(runtime: Runtime, args: argparse.Namespace) -> str:
    state = await _state(runtime, args.gathering)
    row = state.row
    # The field names stay for scripts; the values people read are in the group's language (English as before).
    lang = group_lang(runtime)
    lines = [
        f"{row.title} ({row.status}, {row.visibility})",
        f"when: {documents.when_text(row, lang)}",
        f"where: {documents.where_text(row, lang)}" + (f" — {row.online_url}" if row.online_url else ""),
        f"places: {_places_in(state, lang)}",
        f"url: {runtime.ids.gathering(row.id)}",
    ]
    if state.campaign_title:
        lines.append(f"campaign: {row.campaign_id} {state.campaign_title}")
    return "\n".join(lines)


async def gathering_ics(runtime: Runtime, args: argparse.Namespace) -> str | None:
    state = await _state(runtime, args.gathering)
    body = actions.calendar_of(runtime.ids, runtime.site.name, [state])
    if args.to is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return None
    write_private_file(args.to, body.decode("utf-8"))
    return group_lang(runtime).gettext("wrote gathering %(id)s to %(file)s", id=args.gathering, file=args.to)
