"""Member passwords: argon2id hashes, never the password itself."""

from __future__ import annotations

import base64
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fedgroup.rules.languages import N_, Message

MIN_LENGTH = 10
MAX_LENGTH = 1024

_hasher = PasswordHasher()


class PasswordError(ValueError):
    pass


class Argon2Runs:
    """How many times this process ran argon2 (hashing or verifying). A sign-in costs one run whoever is
    named; tests count runs to show it, since a count, unlike a stopwatch, does not depend on the machine."""

    def __init__(self) -> None:
        self.count = 0


RUNS = Argon2Runs()


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordError(Message(N_("a password needs at least %(least)s characters"), least=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        raise PasswordError(N_("that password is too long"))


def hash_password(password: str) -> str:
    check_strength(password)
    RUNS.count += 1
    return _hasher.hash(password)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def unmatchable_hash() -> str:
    """An argon2id hash with this hasher's parameters that no password matches (its digest is random bytes,
    not the digest of anything). Checking a password against it costs exactly what checking against a real
    hash costs, and making it costs nothing: what a sign-in verifies against when the name is unknown."""
    h = _hasher
    return (
        f"$argon2id$v=19$m={h.memory_cost},t={h.time_cost},p={h.parallelism}"
        f"${_b64(secrets.token_bytes(h.salt_len))}${_b64(secrets.token_bytes(h.hash_len))}"
    )


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash or len(password) > MAX_LENGTH:
        return False
    RUNS.count += 1
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
