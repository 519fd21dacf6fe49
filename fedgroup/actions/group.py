"""The group's own profile: its name, summary and avatar, changed by an admin and announced to followers as an
`Update` of the Group actor, in the same transaction that stores the change."""

from __future__ import annotations

import sqlite3
from typing import Any

from fedgroup import store
from fedgroup.actions import outbox
from fedgroup.actions.context import ActionError, Context
from fedgroup.protocol import vocab
from fedgroup.protocol.ids import LocalIds
from fedgroup.rules import aggregates, avatars, first_steps, languages, timezones
from fedgroup.rules.languages import N_, Message, message_of
from fedgroup.store.datadir import MAX_NAME, MAX_SUMMARY


def actor_document(
    ids: LocalIds,
    site: store.site.Site,
    manually_approves_followers: bool,
    members: int | None,
    minimal: bool = False,
) -> dict[str, Any]:
    """The Group actor as we serve it and as an Update carries it. `members` None: leave the count out."""
    icon = (
        (ids.avatar(site.avatar_digest), site.avatar_type)
        if site.avatar_digest and site.avatar_type
        else None
    )
    return vocab.group_actor(
        ids,
        site.name,
        site.summary,
        site.group_public_key,
        manually_approves_followers,
        minimal=minimal,
        members_at_most=None if members is None else aggregates.members_at_most(members),
        icon=icon,
        also_known_as=site.also_known_as,
        moved_to=site.moved_to,
    )


async def update_profile(
    runtime: Context,
    name: str | None = None,
    summary: str | None = None,
    avatar: bytes | None = None,
    timezone: str | None = None,
    language: str | None = None,
) -> bool:
    """Change what is given (None: keep it); returns whether anything changed. Followers hear an Update when
    what they see changed (the time zone is ours alone: dates federate in UTC)."""
    if timezone is not None:
        try:
            timezones.zone(timezone)
        except timezones.TimeZoneError as e:
            raise ActionError(message_of(e), "timezone") from e
    if language is not None:
        try:
            languages.check(language)
        except languages.LanguageError as e:
            raise ActionError(message_of(e), "language") from e
    if name is not None:
        name = name.strip()
        if not name or len(name) > MAX_NAME or "\n" in name or "\r" in name:
            raise ActionError(
                Message(N_("the name must be one line of 1-%(most)s characters"), most=MAX_NAME), "name"
            )
    if summary is not None:
        summary = summary.strip().replace("\r\n", "\n")
        if len(summary) > MAX_SUMMARY:
            raise ActionError(
                Message(N_("the summary must be at most %(most)s characters"), most=MAX_SUMMARY), "summary"
            )
    checked: tuple[str, str] | None = None
    if avatar is not None:
        try:
            checked = avatars.checked_avatar(avatar)
        except avatars.AvatarError as e:
            raise ActionError(message_of(e), "avatar") from e
    now = runtime.now()
    ids = runtime.ids
    manually = runtime.config.manually_approves_followers

    def job(conn: sqlite3.Connection) -> bool:
        before = store.site.load(conn)
        assert before is not None
        new_name = before.name if name is None else name
        new_summary = before.summary if summary is None else summary
        avatar_changes = checked is not None and checked[1] != before.avatar_digest
        zone_changes = timezone is not None and timezone != before.timezone
        if zone_changes and timezone is not None:
            store.site.set_timezone(conn, timezone)
        # The language is what pages and new posts speak; nothing already sent changes, so no Update.
        language_changes = language is not None and language != before.language
        if language_changes:
            store.site.set_language(conn, language)
        if (new_name, new_summary) == (before.name, before.summary) and not avatar_changes:
            return zone_changes or language_changes
        store.site.update_profile(conn, new_name, new_summary)
        if checked is not None and avatar is not None and avatar_changes:
            store.site.set_avatar(conn, checked[0], checked[1], avatar, now)
        after = store.site.load(conn)
        assert after is not None
        actor = actor_document(ids, after, manually, store.members.count(conn))
        activity = vocab.update_actor(ids, outbox.new_activity_id(ids), actor, now)
        outbox.send_to_followers(conn, activity, "public", now)
        return True

    changed = await runtime.db.write(job)
    if changed:  # (a queue with nothing new wakes for nothing: harmless)
        site = await runtime.db.read(store.site.load)
        assert site is not None
        runtime.site = site
        runtime.deliveries_queued()
    return changed


async def first_steps_left(runtime: Context) -> first_steps.FirstSteps | None:
    """The admin's first steps as the group stands now; None once they are all done or put away."""
    facts = await runtime.db.read(store.first_steps.facts, runtime.now())
    steps = first_steps.first_steps(
        facts.group_name, facts.organizers, facts.open_organizer_invitations, facts.campaigns
    )
    return None if facts.dismissed or steps.complete else steps


async def dismiss_first_steps(runtime: Context) -> None:
    """An admin puts the first steps away, for every admin and every later session."""
    await runtime.db.write(store.first_steps.dismiss, runtime.now())
