"""Which images the group may use as its avatar: PNG, JPEG or WebP, recognised by their first bytes (never by
a file name or a browser's claim), and small. Pure: the bytes are passed in."""

from __future__ import annotations

import hashlib

from fedgroup.rules.languages import N_, Message

MAX_AVATAR_BYTES = 512 * 1024
MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp")


class AvatarError(ValueError):
    """An avatar we refuse, with the reason a person can act on."""


def media_type_of(data: bytes) -> str | None:
    """The image type the bytes really are, by their magic numbers; None when they are none of ours."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def checked_avatar(data: bytes) -> tuple[str, str]:
    """(media type, digest) of an acceptable avatar; AvatarError otherwise."""
    if not data:
        raise AvatarError(N_("the avatar file is empty"))
    if len(data) > MAX_AVATAR_BYTES:
        raise AvatarError(
            Message(N_("the avatar is too large: at most %(most)s KiB"), most=MAX_AVATAR_BYTES // 1024)
        )
    media_type = media_type_of(data)
    if media_type is None:
        raise AvatarError(N_("the avatar must be a PNG, JPEG or WebP image"))
    return media_type, hashlib.sha256(data).hexdigest()[:32]
