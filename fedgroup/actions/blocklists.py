"""Shared blocklists: what importing a Mastodon domain-block CSV would change, doing it, and our export.

An import is planned first (nothing written) so that an organizer sees what it changes before it does; the
import then blocks each new domain exactly as `block` does (followers there get a Reject, queued deliveries
there are dropped, nothing of theirs is accepted any more)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fedgroup import store
from fedgroup.actions.context import ActionError, Context
from fedgroup.actions.moderation import block, block_target
from fedgroup.rules import blocklists
from fedgroup.rules.languages import N_, Message, message_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlocklistPlan:
    to_block: tuple[str, ...]
    already: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (domain as written, why it is not blocked)


async def plan_blocklist(runtime: Context, text: str) -> BlocklistPlan:
    """What importing the CSV `text` would change; writes nothing."""
    try:
        rows = blocklists.parse(text)
    except blocklists.BlocklistError as e:
        raise ActionError(Message(N_("cannot import that blocklist: %(reason)s"), reason=message_of(e)), "file") from e
    current = await runtime.db.read(store.blocks.load_set)
    to_block: list[str] = []
    already: list[str] = []
    skipped: list[tuple[str, str]] = []
    for row in rows:
        if row.obfuscated:
            skipped.append((row.domain, f"line {row.line}: obfuscated (the full domain is not given)"))
            continue
        if row.severity != "suspend":
            reason = (
                "fedgroup only blocks (suspend)"
                if row.severity in blocklists.SEVERITIES
                else "unknown severity"
            )
            skipped.append((row.domain, f"line {row.line}: {row.severity}: {reason}"))
            continue
        try:
            kind, domain = block_target(row.domain)
        except ActionError:
            kind, domain = "", row.domain
        if kind != "domain":
            skipped.append((row.domain, f"line {row.line}: not a domain"))
        elif domain == runtime.config.domain:
            skipped.append((row.domain, f"line {row.line}: our own domain"))
        elif domain in current.domains:
            already.append(domain)
        else:
            to_block.append(domain)
    return BlocklistPlan(tuple(to_block), tuple(already), tuple(skipped))


async def import_blocklist(runtime: Context, plan: BlocklistPlan) -> list[str]:
    """Block every domain the plan would block; returns them."""
    blocked = [await block(runtime, domain) for domain in plan.to_block]
    log.info("blocklist imported blocked=%d already=%d skipped=%d", len(blocked), len(plan.already),
             len(plan.skipped))  # fmt: skip
    return blocked


async def export_blocklist(runtime: Context) -> str:
    """Our domain blocks as a Mastodon domain-block CSV (account blocks are not in that format)."""
    current = await runtime.db.read(store.blocks.load_set)
    return blocklists.export(list(current.domains))
