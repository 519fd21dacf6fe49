"""Accounts: signing in, invitations, passwords, roles, and the first admin of a new server."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from datetime import timedelta

from fedgroup import store
from fedgroup.actions.context import ActionError, Context
from fedgroup.actions.members import clean_name
from fedgroup.rules import campaigns, languages, passwords
from fedgroup.rules.languages import N_, Message, message_of
from fedgroup.rules.passwords import PasswordError

INVITE_HOURS = 72
RESET_HOURS = 24


async def sign_in(runtime: Context, name: str, password: str) -> store.members.Member | None:
    """The member if the name and password match. Exactly one argon2 verification whatever the name: an
    unknown name (or a member without a password) is checked against a hash nothing matches, so a wrong name
    costs as long as a wrong password and the answer's timing does not tell which names exist."""
    member = await runtime.db.read(store.members.by_name, campaigns.clean_line(name))
    password_hash = member.password_hash if member is not None else None
    checked = password_hash or passwords.unmatchable_hash()
    ok = await asyncio.to_thread(passwords.verify_password, checked, password)
    return member if ok and member is not None and password_hash else None


async def create_invite(runtime: Context, role: str = "member", hours: int = INVITE_HOURS) -> str:
    """A one-time invitation; returns its URL (the token is only ever in this URL, we keep its digest)."""
    if role not in store.members.ROLES:
        raise ActionError(Message(N_("role must be one of %(roles)s"), roles=", ".join(store.members.ROLES)), "role")
    if not 1 <= hours <= 24 * 30:
        raise ActionError(N_("an invitation lasts 1 hour to 30 days"), "hours")
    token = secrets.token_urlsafe(24)
    now = runtime.now()
    await runtime.db.write(
        lambda conn: store.sessions.add_invite(conn, token, role, now, now + timedelta(hours=hours))
    )
    return f"{runtime.config.base_url}/invite/{token}"


async def revoke_invite(runtime: Context, invite_id: int) -> None:
    if not await runtime.db.write(lambda conn: store.sessions.revoke_invite(conn, invite_id)):
        raise ActionError(N_("that invitation was used or revoked already"), "invite")


async def accept_invite(runtime: Context, token: str, name: str, password: str) -> int:
    """Become a member through an invitation: a name and a password of one's own."""
    name = clean_name(name)
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> int:
        role = store.sessions.open_invite_role(conn, token, now)
        if role is None:
            raise ActionError(
                N_("this invitation was used or has expired; ask an admin for a new one"), "invite"
            )
        if store.members.by_name(conn, name) is not None:
            raise ActionError(Message(N_("there is already a member called %(name)s"), name=name), "name")
        store.sessions.use_invite(conn, token, now)
        return store.members.add(conn, name, role, None, password_hash, now)

    return await runtime.db.write(job)


async def create_password_reset(runtime: Context, member_id: int, hours: int = RESET_HOURS) -> str:
    """A one-time link where the member chooses a new password; returns its URL (we keep only the digest)."""
    if not 1 <= hours <= 24 * 7:
        raise ActionError(N_("a reset link lasts 1 hour to 7 days"), "hours")
    token = secrets.token_urlsafe(24)
    now = runtime.now()
    await runtime.db.write(
        lambda conn: store.sessions.add_reset(conn, token, member_id, now, now + timedelta(hours=hours))
    )
    return f"{runtime.config.base_url}/reset/{token}"


async def reset_password(runtime: Context, token: str, new: str) -> int:
    """Set a new password through a reset link: the link and the member's other links are used up, and every
    session of the member ends (whoever had their old password is signed out). Returns the member's id."""
    try:
        password_hash = await asyncio.to_thread(passwords.hash_password, new)
    except PasswordError as e:
        raise ActionError(message_of(e), "password") from e
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> int:
        member = store.sessions.open_reset_member(conn, token, now)
        if member is None:
            raise ActionError(N_("this link was used or has expired; an admin can make a new one"), "reset")
        store.members.set_password_hash(conn, member.id, password_hash)
        store.sessions.use_reset(conn, token, member.id, now)
        store.sessions.remove_all_of(conn, member.id)
        return member.id

    return await runtime.db.write(job)


async def change_password(runtime: Context, member_id: int, current: str, new: str) -> None:
    member = await runtime.db.read(store.members.by_id, member_id)
    if member is None:
        raise ActionError(N_("there is no such member"), "current")
    if not await asyncio.to_thread(passwords.verify_password, member.password_hash, current):
        raise ActionError(N_("that is not your current password"), "current")
    try:
        password_hash = await asyncio.to_thread(passwords.hash_password, new)
    except PasswordError as e:
        raise ActionError(message_of(e), "new") from e
    await runtime.db.write(lambda conn: store.members.set_password_hash(conn, member_id, password_hash))


async def set_member_language(runtime: Context, member_id: int, language: str | None) -> None:
    """The language of a member's pages; None gives the choice back to their browser and the group."""
    if language is not None:
        try:
            languages.check(language)
        except languages.LanguageError as e:
            raise ActionError(message_of(e), "language") from e
    await runtime.db.write(store.members.set_language, member_id, language)


async def set_role(runtime: Context, member_id: int, role: str) -> None:
    if role not in store.members.ROLES:
        raise ActionError(Message(N_("role must be one of %(roles)s"), roles=", ".join(store.members.ROLES)), "role")

    def job(conn: sqlite3.Connection) -> None:
        member = store.members.by_id(conn, member_id)
        if member is None:
            raise ActionError(N_("there is no such member"), "member")
        if member.is_admin and role != "admin" and store.members.count_admins(conn) <= 1:
            raise ActionError(N_("the last admin must stay an admin"), "role")
        store.members.set_role(conn, member_id, role)

    await runtime.db.write(job)


async def ensure_first_admin(runtime: Context) -> str | None:
    """On a server with no members yet, create the admin account; returns its one-time password."""
    if await runtime.db.read(store.members.count):
        return None  # the usual start: no password to hash (argon2 costs ~0.1 s)
    password = secrets.token_urlsafe(12)
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> bool:
        if store.members.count(conn):  # checked again: a CLI command may have added one meanwhile
            return False
        store.members.add(conn, FIRST_ADMIN, "admin", None, password_hash, now)
        return True

    return password if await runtime.db.write(job) else None


FIRST_ADMIN = "admin"
