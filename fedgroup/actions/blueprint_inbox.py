"""What other servers tell us about blueprints: adoptions of ours (`Adopt`), and partner groups' blueprints.

An adoption report is believed only as far as the adopter's own documents, fetched from the adopter's host,
bear it out: the campaign it names is on the reporting group's host, is attributed to it, and is adapted from
our blueprint — directly, or through blueprints of groups whose adoption we already counted (each fetched
from its own host). Its totals must be that campaign's own; fulfilled can be no more than pledged. Anything
else is dropped, nothing stored, one log line.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fedgroup import store
from fedgroup.actions import handling, lineage
from fedgroup.actions.context import Context
from fedgroup.net.fetch import FetchError
from fedgroup.protocol import blueprints as blueprint_docs
from fedgroup.protocol.blueprints import AdaptedCampaign
from fedgroup.protocol.parse import Activity, ParseError, same_origin
from fedgroup.rules import blueprints as blueprint_rules
from fedgroup.rules.campaigns import CampaignError

log = logging.getLogger(__name__)

ADOPTER_TYPES = ("Group", "Organization")
BLUEPRINT_PREFIX = "/blueprints/"


class Ignored(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def blueprint_number(runtime: Context, url: str) -> int | None:
    prefix = runtime.ids.base_url + BLUEPRINT_PREFIX
    rest = url.removeprefix(prefix)
    if rest == url or not (rest.isascii() and rest.isdigit()) or len(rest) > 18 or rest != str(int(rest)):
        return None
    return int(rest)


async def _own_document(runtime: Context, url: str) -> dict[str, Any]:
    """A document from its own URL: fetched signed, its id the URL it finally came from."""
    assert runtime.http is not None
    fetched = await runtime.http.fetch_document(url, runtime.instance_signer)
    if fetched.url != url or fetched.document.get("id") != url:
        raise Ignored("id-mismatch")
    return fetched.document


async def _lineage_via(
    runtime: Context, blueprint_id: int, target: str, campaign: AdaptedCampaign
) -> str | None:
    """None when the campaign adapts our blueprint directly, else the blueprint it adapts (whose group we
    already counted as an adopter, and whose own lineage leads to ours). Ignored otherwise."""
    link = campaign.adapted_from
    if link is None:
        raise Ignored("not-adapted")
    if link == target:
        return None
    first = link
    # Only blueprints on the hosts of adopters we already counted are worth fetching: a report cannot make
    # us fetch anything from anywhere else.
    adopters = await runtime.db.read(store.blueprints.adopter_groups, blueprint_id)
    for _ in range(blueprint_rules.MAX_LINEAGE):
        if runtime.ids.is_local(link):
            raise Ignored("other-blueprint")
        if not any(same_origin(link, group) for group in adopters):
            raise Ignored("lineage-unknown-adopter")
        try:
            parent = blueprint_docs.parse_blueprint(await _own_document(runtime, link))
        except ParseError as e:
            raise Ignored(f"lineage-{e.reason}") from e
        if not same_origin(parent.attributed_to, parent.id):
            raise Ignored("lineage-on-other-host")
        if not await runtime.db.read(store.blueprints.adopter_known, blueprint_id, parent.attributed_to):
            raise Ignored("lineage-unknown-adopter")
        if parent.adapted_from == target:
            return first
        if parent.adapted_from is None:
            raise Ignored("lineage-not-ours")
        link = parent.adapted_from
    raise Ignored("lineage-too-long")


async def on_adopt(runtime: Context, activity: Activity) -> None:
    try:
        await _take_adoption(runtime, activity)
    except Ignored as e:
        log.info("adoption ignored reason=%s actor=%s", e.reason, activity.actor)
    except FetchError as e:
        log.info("adoption ignored reason=fetch-%s actor=%s", e.reason, activity.actor)


async def _take_adoption(runtime: Context, activity: Activity) -> None:
    try:
        report = blueprint_docs.parse_adopt(activity.raw)
    except ParseError as e:
        raise Ignored(e.reason) from e
    if report.actor != activity.actor:
        raise Ignored("actor-mismatch")
    number = blueprint_number(runtime, report.blueprint)
    blueprint = await runtime.db.read(store.blueprints.get, number) if number is not None else None
    if blueprint is None:
        raise Ignored("not-our-blueprint")
    if not same_origin(report.campaign, report.actor):
        raise Ignored("campaign-on-other-host")
    assert runtime.actors is not None
    group = await runtime.actors.actor(report.actor)
    if group.type not in ADOPTER_TYPES:
        raise Ignored("not-a-group")
    try:
        campaign = blueprint_docs.parse_adapted_campaign(await _own_document(runtime, report.campaign))
    except ParseError as e:
        raise Ignored(f"campaign-{e.reason}") from e
    if campaign.attributed_to != report.actor:
        raise Ignored("campaign-not-theirs")
    via = await _lineage_via(runtime, blueprint.id, report.blueprint, campaign)
    results_json, won = None, None
    if report.results is not None:
        if not campaign.finished:
            raise Ignored("results-before-outcome")
        try:
            results = blueprint_rules.check_reported_results(report.results, campaign.goals)
        except CampaignError as e:
            raise Ignored("results-mismatch") from e
        results_json, won = lineage.results_json(results), blueprint_rules.succeeded(results)
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        store.blueprints.save_adoption(
            conn, blueprint.id, campaign.id, report.actor, via, campaign.title, campaign.url, report.unlisted,
            results_json, won, now,
        )  # fmt: skip

    await runtime.db.write(handling.finishing(job))
    log.info(
        "adoption counted blueprint=%d campaign=%s via=%s results=%s", blueprint.id, campaign.id, via, won
    )


# -- partner groups' blueprints ---------------------------------------------------------------------------


async def on_partner_blueprint(runtime: Context, activity: Activity) -> None:
    """A blueprint a group we follow published (Create or Update): kept for the list organizers adopt from."""
    obj = activity.object
    if obj is None:
        return
    following = await runtime.db.read(store.follows.following_of, activity.actor)
    if following is None or following.state != "accepted":
        log.info("blueprint ignored reason=not-followed actor=%s", activity.actor)
        return
    try:
        doc = blueprint_docs.parse_blueprint(obj)
    except ParseError as e:
        log.info("blueprint ignored reason=%s actor=%s", e.reason, activity.actor)
        return
    if doc.attributed_to != activity.actor or not same_origin(doc.id, activity.actor):
        log.info("blueprint ignored reason=not-theirs actor=%s", activity.actor)
        return
    now = runtime.now()
    await runtime.db.write(
        lambda conn: store.blueprints.save_partner_blueprint(
            conn, doc.id, activity.actor, doc.title, doc.summary, now
        )
    )
    log.info("partner blueprint saved id=%s", doc.id)
