"""Two-factor sign-in: enrolling an authenticator app, checking its codes (or a recovery code) after the
password, an admin's requirement of it for organizers and admins, and resetting a lost one."""

from __future__ import annotations

import logging
import secrets
import sqlite3

from fedgroup import store
from fedgroup.actions.context import ActionError, Context
from fedgroup.rules import two_factor
from fedgroup.rules.languages import N_

log = logging.getLogger(__name__)


def new_secret() -> str:
    return two_factor.secret_from(secrets.token_bytes(20))


def provisioning_uri(runtime: Context, member_name: str, secret: str) -> str:
    return two_factor.provisioning_uri(secret, f"{member_name}@{runtime.config.domain}", runtime.site.name)


async def enable_two_factor(runtime: Context, member_id: int, secret: str, code: str) -> list[str]:
    """Turn the factor on once the member proved their app makes its codes; returns the recovery codes
    (shown once: only their digests are kept)."""
    if len(secret) != 32 or not all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in secret):
        raise ActionError(N_("this enrolment has expired; start again"), "code")
    now = runtime.now()
    step = two_factor.matching_step(secret, code, now.timestamp())
    if step is None:
        raise ActionError(N_("that code is not the one your app shows; check the phone's clock and try again"), "code")
    codes = [two_factor.recovery_code_from(secrets.token_bytes(10)) for _ in range(two_factor.RECOVERY_CODES)]
    hashes = [two_factor.recovery_code_hash(c) for c in codes]

    def job(conn: sqlite3.Connection) -> None:
        store.two_factor.enable(conn, member_id, secret, hashes, now)
        store.two_factor.use_step(conn, member_id, step)

    await runtime.db.write(job)
    log.info("two-factor enabled member=%d", member_id)
    return codes


async def check_second_factor(runtime: Context, member_id: int, code: str) -> bool:
    """Whether `code` is the member's current TOTP code (each good once) or one of their unused recovery
    codes (then used up)."""
    secret = await runtime.db.read(store.two_factor.secret_of, member_id)
    if secret is None:
        return False
    now = runtime.now()
    step = two_factor.matching_step(secret, code, now.timestamp())
    if step is not None:
        return bool(await runtime.db.write(lambda conn: store.two_factor.use_step(conn, member_id, step)))
    digest = two_factor.recovery_code_hash(code)
    used = await runtime.db.write(lambda conn: store.two_factor.use_recovery_code(conn, member_id, digest, now))
    if used:
        log.info("recovery code used member=%d", member_id)
    return bool(used)


async def reset_two_factor(runtime: Context, member_id: int) -> None:
    """Forget a member's factor (a lost phone): they sign in with their password and enrol again."""

    def job(conn: sqlite3.Connection) -> bool:
        if store.members.by_id(conn, member_id) is None:
            raise ActionError(N_("there is no such member"), "member")
        return store.two_factor.remove(conn, member_id)

    if not await runtime.db.write(job):
        raise ActionError(N_("that member has no second factor"), "member")
    log.info("two-factor reset member=%d", member_id)


async def require_two_factor(runtime: Context, required: bool) -> None:
    await runtime.db.write(lambda conn: store.two_factor.set_required(conn, required))
