"""The data directory: config.toml, the SQLite file (which also holds the keys), nothing else."""

from __future__ import annotations

import asyncio
import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fedgroup import config as config_module
from fedgroup import store
from fedgroup.config import Config, ConfigError

HANDLE_RE = re.compile(r"^[a-z0-9_]{1,30}$")
MAX_NAME = 100
MAX_SUMMARY = 2000


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def generate_key() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private_pem, public_pem)


def validate_profile(handle: str, name: str, summary: str) -> None:
    if not HANDLE_RE.match(handle):
        raise ConfigError("handle must be 1-30 lowercase letters, digits or underscores")
    if not name.strip() or len(name) > MAX_NAME:
        raise ConfigError(f"name must be 1-{MAX_NAME} characters")
    if len(summary) > MAX_SUMMARY:
        raise ConfigError(f"summary must be at most {MAX_SUMMARY} characters")


def exists(data_dir: Path) -> bool:
    return (data_dir / config_module.CONFIG_FILE).exists() or (
        data_dir / config_module.DATABASE_FILE
    ).exists()


async def create(
    data_dir: Path,
    base_url: str,
    name: str,
    handle: str = config_module.DEFAULT_HANDLE,
    summary: str = "",
    keys: tuple[KeyPair, KeyPair] | None = None,
    timezone: str = "UTC",
    **settings: object,
) -> Config:
    """Create a group's data dir; refuses to touch one that already holds a group."""
    handle = handle.strip().lower()
    validate_profile(handle, name, summary)
    if timezone != "UTC" and timezone not in zoneinfo.available_timezones():  # the listing reads a directory
        raise ConfigError(f"{timezone[:60]!r} is not a time zone name (e.g. Europe/Madrid, America/Chicago, UTC)")
    if exists(data_dir):
        raise ConfigError(f"{data_dir} already holds a fedgroup; refusing to overwrite it")
    config = config_module.from_mapping(data_dir, {"base_url": base_url, **settings})
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise ConfigError(f"cannot create {data_dir}: {e.strerror}") from e
    if not os.access(data_dir, os.W_OK):
        raise ConfigError(f"cannot write to {data_dir}")
    group_key, instance_key = (
        keys if keys is not None else await asyncio.to_thread(lambda: (generate_key(), generate_key()))
    )
    site = store.site.Site(
        handle=handle,
        name=name.strip(),
        summary=summary.strip(),
        group_private_key=group_key.private_pem,
        group_public_key=group_key.public_pem,
        instance_private_key=instance_key.private_pem,
        instance_public_key=instance_key.public_pem,
        timezone=timezone,
    )
    async with store.Database(config.database_path) as db:
        await db.write(lambda conn: store.site.create(conn, site, datetime.now(UTC)))
    os.chmod(config.database_path, 0o600)
    config_path = data_dir / config_module.CONFIG_FILE
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(config_module.to_toml(config))
    return config


def set_base_url(data_dir: Path, base_url: str) -> None:
    """Rewrite config.toml with a new base URL (a group moving to a new domain), every other setting as the
    file has it (not as the environment overrides it). Written beside and renamed: never half a file."""
    path = data_dir / config_module.CONFIG_FILE
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    raw["base_url"] = config_module.normalize_base_url(base_url)
    config = config_module.from_mapping(data_dir, raw)  # checks every value before anything is written
    written = path.with_suffix(".toml.new")
    fd = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(config_module.to_toml(config))
    os.replace(written, path)
