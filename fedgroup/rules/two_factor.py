"""Time-based one-time passwords (RFC 6238, as authenticator apps make them) and recovery codes. Pure: the
time and the random bytes are given."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pyotp

STEP_SECONDS = 30
DIGITS = 6
# A code of the step before or after is accepted too: phones' clocks drift.
DRIFT_STEPS = 1
RECOVERY_CODES = 10


def secret_from(random_bytes: bytes) -> str:
    """A base32 TOTP secret from 20 random bytes (160 bits, as RFC 4226 recommends)."""
    return base64.b32encode(random_bytes).decode("ascii").rstrip("=")


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(secret: str, code: str, now_seconds: float) -> int | None:
    """The 30-second step whose code `code` is (within the drift allowed), or None."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = int(now_seconds // STEP_SECONDS)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def recovery_code_from(random_bytes: bytes) -> str:
    """A recovery code to write down: 16 base32 letters (80 bits) in groups of four."""
    letters = base64.b32encode(random_bytes[:10]).decode("ascii").lower()
    return "-".join(letters[i : i + 4] for i in range(0, 16, 4))


def normalize_recovery_code(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def recovery_code_hash(code: str) -> str:
    """What is stored of a recovery code: long and random, so one round of SHA-256 is enough."""
    return hashlib.sha256(normalize_recovery_code(code).encode("ascii", "replace")).hexdigest()
