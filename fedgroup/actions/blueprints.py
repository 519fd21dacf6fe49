"""What organizers do with blueprints, shared by the CLI and the web UI: publish a case study of a finished
campaign, fetch and preview another group's, adopt it as a draft campaign, edit and publish the draft, and
hide an adopter. Each action checks everything first, then writes in one transaction with what federates."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from fedgroup import store
from fedgroup.actions import lineage, outbox
from fedgroup.actions.campaigns import group_language, load_campaign
from fedgroup.actions.context import ActionError, Context
from fedgroup.net.fetch import FetchError
from fedgroup.protocol import blueprints as blueprint_docs
from fedgroup.protocol import vocab
from fedgroup.protocol.blueprints import BlueprintDoc, BlueprintFacts
from fedgroup.protocol.parse import ParseError, is_http_url, same_origin
from fedgroup.rules import blueprints as blueprint_rules
from fedgroup.rules import campaign_state, campaigns
from fedgroup.rules.blueprints import Combined, Template
from fedgroup.rules.campaigns import Goal, PledgeOption
from fedgroup.rules.languages import N_, Message, message_of

log = logging.getLogger(__name__)

GROUP_TYPES = ("Group", "Organization")


# -- our blueprints ---------------------------------------------------------------------------------------


def _template_json(state: campaign_state.CampaignState) -> str:
    return orjson.dumps(
        {
            "title": state.row.title,
            "body": state.row.body,
            "goals": [{"kind": g.kind, "target": str(g.target), "unit": g.unit} for g in state.goals],
            "options": [{"label": o.label, "kind": o.kind, "amount": str(o.amount)} for o in state.options],
            "multiple_choice": state.row.multiple_choice,
        }
    ).decode()


def _template(text: str) -> Template:
    t = orjson.loads(text)
    return Template(
        t["title"],
        t["body"],
        tuple(Goal(g["kind"], Decimal(g["target"]), g["unit"]) for g in t["goals"]),
        tuple(PledgeOption(o["label"], o["kind"], Decimal(o["amount"])) for o in t["options"]),
        bool(t["multiple_choice"]),
    )


def facts_of(row: store.blueprints.BlueprintRow) -> BlueprintFacts:
    return BlueprintFacts(
        number=row.id,
        study=blueprint_rules.CaseStudy(
            row.title, row.summary, row.what_worked, tuple(orjson.loads(row.steps)), row.do_differently
        ),
        template=_template(row.template),
        results=lineage.results_from_json(row.results),
        succeeded=row.succeeded,
        duration_days=blueprint_rules.duration_days(row.started_at, row.ended_at),
        campaign_number=row.campaign_id,
        adapted_from=row.adapted_from,
        visibility=row.visibility,
        published=row.published_at,
    )


async def publish_blueprint(
    runtime: Context,
    campaign_id: int,
    *,
    title: str,
    summary: str,
    what_worked: str = "",
    steps: str | Sequence[str] = (),
    do_differently: str = "",
    visibility: str = "public",
) -> int:
    """A case study of a finished campaign, sent to followers as a `fedgroup:Blueprint` Article. Its results
    are the campaign's own totals (pledged and fulfilled per goal); no member is named anywhere."""
    study = blueprint_rules.check_case_study(title, summary, what_worked, steps, do_differently)
    if visibility not in ("public", "followers"):
        raise ActionError(N_("a blueprint is public or for followers"), "visibility")
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> int:
        state = load_campaign(conn, campaign_id)
        if state is None or state.row.deleted_at is not None or state.row.draft:
            raise ActionError(Message(N_("there is no campaign %(id)s"), id=campaign_id), "campaign")
        if state.row.visibility == "members":
            raise ActionError(
                "a members-only campaign stays with the members: no blueprint of it", "campaign"
            )
        if state.row.status != "closed":
            raise ActionError(
                "close the campaign (or report its outcome) before writing its blueprint", "campaign"
            )
        if store.blueprints.of_campaign(conn, campaign_id) is not None:
            raise ActionError(N_("this campaign has a blueprint already"), "campaign")
        results = lineage.campaign_results(conn, state)
        ended = state.row.outcome_at or state.row.closed_at or now
        blueprint_id = store.blueprints.insert(
            conn, campaign_id, study.title, study.summary, study.what_worked, orjson.dumps(study.steps).decode(),
            study.do_differently, visibility, lineage.results_json(results), blueprint_rules.succeeded(results),
            _template_json(state), state.row.created_at, ended, state.row.adapted_from, now,
        )  # fmt: skip
        row = store.blueprints.get(conn, blueprint_id)
        assert row is not None
        article = blueprint_docs.blueprint_article(runtime.ids, facts_of(row), group_language(runtime))
        outbox.send_to_followers(
            conn, vocab.create(runtime.ids, outbox.new_activity_id(runtime.ids), article), visibility, now
        )
        return blueprint_id

    blueprint_id = await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("blueprint published id=%d campaign=%d", blueprint_id, campaign_id)
    return blueprint_id


@dataclass(frozen=True)
class AdoptionView:
    id: int
    group: str
    title: str
    url: str
    via: str | None
    listed: bool  # shown with a link (not unlisted by its group)
    hidden: bool
    outcome: str | None  # "succeeded", "did not reach its goals", or None while it runs


@dataclass(frozen=True)
class BlueprintPage:
    row: store.blueprints.BlueprintRow
    facts: BlueprintFacts
    adoptions: tuple[AdoptionView, ...]  # every one, hidden included (pages show only what they may)
    combined: Combined

    @property
    def counted(self) -> int:
        return sum(1 for a in self.adoptions if not a.hidden)


async def blueprint_page(runtime: Context, blueprint_id: int) -> BlueprintPage | None:
    row = await runtime.db.read(store.blueprints.get, blueprint_id)
    if row is None:
        return None
    facts = facts_of(row)
    views, counted = [], []
    for a in await runtime.db.read(store.blueprints.adoptions, blueprint_id):
        results = lineage.results_from_json(a.results) if a.results else None
        outcome = None if a.succeeded is None else ("succeeded" if a.succeeded else "did not reach its goals")
        views.append(
            AdoptionView(a.id, a.adopter_group, a.title, a.url, a.via, not a.unlisted, a.hidden, outcome)
        )
        if not a.hidden:
            counted.append((results, bool(a.succeeded)))
    combined = blueprint_rules.combine(facts.results, facts.succeeded, counted)
    return BlueprintPage(row, facts, tuple(views), combined)


async def hide_adoption(runtime: Context, adoption_id: int, hidden: bool = True) -> None:
    """Moderation: a hidden adopter is neither listed nor counted (and cannot be a link of a lineage)."""
    if not await runtime.db.write(lambda conn: store.blueprints.set_hidden(conn, adoption_id, hidden)):
        raise ActionError(Message(N_("there is no adoption %(id)s"), id=adoption_id), "adoption")
    log.info("blueprint adoption %s id=%d", "hidden" if hidden else "shown", adoption_id)


# -- adopting another group's blueprint -------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedBlueprint:
    blueprint: BlueprintDoc
    document: dict[str, Any]
    group: store.actors.CachedActor
    lineage: tuple[dict[str, str], ...]  # {"blueprint", "group", "inbox"}: the direct origin first


async def _fetch_one(
    runtime: Context, url: str
) -> tuple[BlueprintDoc, dict[str, Any], store.actors.CachedActor]:
    """A blueprint from its own origin: its id is the URL it finally came from, its author a Group there."""
    assert runtime.http is not None and runtime.actors is not None
    fetched = await runtime.http.fetch_document(url, runtime.instance_signer)
    if fetched.document.get("id") != fetched.url:
        raise FetchError("id-mismatch", f"{fetched.url} serves {str(fetched.document.get('id'))[:100]!r}")
    try:
        doc = blueprint_docs.parse_blueprint(fetched.document)
    except ParseError as e:
        raise FetchError(e.reason, str(e)) from e
    if not same_origin(doc.attributed_to, doc.id):
        raise FetchError("author-on-other-host", doc.attributed_to)
    group = await runtime.actors.actor(doc.attributed_to)
    if group.type not in GROUP_TYPES:
        raise FetchError("author-not-a-group", f"{doc.attributed_to} is a {group.type}")
    return doc, fetched.document, group


async def fetch_blueprint(runtime: Context, url: str) -> FetchedBlueprint:
    """Fetch (signed, through the private-network guard) and check a blueprint, and the blueprints it came
    from as far as they can be checked: each from its own host. ActionError says what is wrong."""
    url = url.strip()
    if not is_http_url(url):
        raise ActionError(N_("paste the blueprint's address (https://…)"), "url")
    if runtime.ids.is_local(url):
        raise ActionError(N_("that is one of our own blueprints"), "url")
    if runtime.http is None:
        raise ActionError(N_("the network is not running"), "url")
    try:
        blueprint, document, group = await _fetch_one(runtime, url)
    except FetchError as e:
        log.info("blueprint not adopted reason=%s url=%s", e.reason, url[:200])
        raise ActionError(Message(N_("cannot use %(url)s: %(reason)s"), url=url[:200], reason=e.reason), "url") from e
    links = [{"blueprint": blueprint.id, "group": group.id, "inbox": group.inbox}]
    seen = {blueprint.id}
    ancestor = blueprint.adapted_from
    while ancestor and ancestor not in seen and len(links) < blueprint_rules.MAX_LINEAGE:
        seen.add(ancestor)
        if runtime.ids.is_local(ancestor):
            break  # adopted from ours: we do not report to ourselves
        try:
            parent, _, parent_group = await _fetch_one(runtime, ancestor)
        except FetchError as e:  # the lineage ends where it can no longer be checked
            log.info("blueprint lineage cut reason=%s url=%s", e.reason, ancestor[:200])
            break
        links.append({"blueprint": parent.id, "group": parent_group.id, "inbox": parent_group.inbox})
        ancestor = parent.adapted_from
    return FetchedBlueprint(blueprint, document, group, tuple(links))


async def adopt_blueprint(
    runtime: Context, url: str, unlisted: bool = False, fetched: FetchedBlueprint | None = None
) -> int:
    """Fetch the blueprint (unless `fetched` for that URL just now, for a preview) and make a draft campaign
    from its template (public, no deadline): organizers edit it and publish it. The draft names the
    blueprint; returns the draft's campaign id."""
    if fetched is None:
        fetched = await fetch_blueprint(runtime, url)
    template = fetched.blueprint.template
    now = runtime.now()
    try:
        draft = campaigns.validate_draft(
            template.title, template.body, template.goals, template.options, None, "public", now,
            template.multiple_choice,
        )  # fmt: skip
    except campaigns.CampaignError as e:
        raise ActionError(
            Message(N_("the blueprint's template cannot be a campaign here: %(reason)s"), reason=message_of(e)), "url"
        ) from e

    language = runtime.site.language or runtime.config.default_language  # the draft is written in ours

    def job(conn: sqlite3.Connection) -> int:
        campaign_id = store.campaigns.insert(
            conn, draft.title, draft.body, draft.visibility, None, draft.multiple_choice,
            [(g.kind, g.target, g.unit) for g in draft.goals], [(o.label, o.kind, o.amount) for o in draft.options],
            now, draft=True, adapted_from=fetched.blueprint.id, language=language,
        )  # fmt: skip
        store.blueprints.save_adopted(
            conn, campaign_id, fetched.blueprint.id, fetched.group.id, orjson.dumps(fetched.document).decode(),
            orjson.dumps(list(fetched.lineage)).decode(), unlisted, now,
        )  # fmt: skip
        return campaign_id

    campaign_id = await runtime.db.write(job)
    log.info("blueprint adopted blueprint=%s draft=%d", fetched.blueprint.id, campaign_id)
    return campaign_id


async def edit_draft(
    runtime: Context,
    campaign_id: int,
    *,
    title: str,
    body: str,
    goals: Sequence[Goal],
    options: Sequence[PledgeOption],
    deadline: datetime | None = None,
    visibility: str = "public",
    multiple_choice: bool = False,
    unlisted: bool | None = None,
) -> None:
    """Change anything of a draft: text, targets, currency, options, deadline, visibility."""
    now = runtime.now()
    draft = campaigns.validate_draft(title, body, goals, options, deadline, visibility, now, multiple_choice)

    def job(conn: sqlite3.Connection) -> None:
        row = store.campaigns.get(conn, campaign_id)
        if row is None or row.deleted_at is not None or not row.draft:
            raise ActionError(Message(N_("there is no draft %(id)s"), id=campaign_id), "campaign")
        store.campaigns.rewrite_draft(
            conn, campaign_id, draft.title, draft.body, draft.visibility, draft.deadline,
            [(g.kind, g.target, g.unit) for g in draft.goals], [(o.label, o.kind, o.amount) for o in draft.options],
            now,
        )  # fmt: skip
        if unlisted is not None:
            store.blueprints.set_unlisted(conn, campaign_id, unlisted)

    await runtime.db.write(job)


async def publish_draft(runtime: Context, campaign_id: int) -> None:
    """The draft becomes a campaign: Create to followers (unless members-only), and each group up its
    blueprint's lineage is told (Adopt)."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> int:
        state = load_campaign(conn, campaign_id)
        if state is None or state.row.deleted_at is not None or not state.row.draft:
            raise ActionError(Message(N_("there is no draft %(id)s"), id=campaign_id), "campaign")
        row = state.row
        campaigns.validate_draft(
            row.title,
            row.body,
            state.goals,
            state.options,
            row.deadline,
            row.visibility,
            now,
            row.multiple_choice,
        )
        store.campaigns.publish_draft(conn, campaign_id, now)
        published = load_campaign(conn, campaign_id)
        assert published is not None
        outbox.publish_campaign(conn, runtime.ids, published, now, minimum=runtime.config.min_disclosed_count)
        return lineage.report_to_origins(conn, runtime.ids, published, now)

    told = await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("draft published id=%d origins_told=%d", campaign_id, told)
