"""Backup and restore of a data directory: one tar.gz with config.toml and a consistent copy of the database.

The copy is made with SQLite's online backup API, so it can be taken while the server runs and writes. The
database holds the group's private keys and everything about its members: the file is created readable by
its owner only, and whoever holds it can act as the group. With a passphrase the tar.gz is sealed
(store/sealed.py: scrypt and AES-256-GCM, chunk by chunk). A backup can also be written to any stream
(stdout), which is why the archive is written in tarfile's stream mode.
"""

from __future__ import annotations

import os
import sqlite3
import tarfile
import tempfile
import tomllib
from pathlib import Path
from typing import BinaryIO

from fedgroup import config as config_module
from fedgroup.config import ConfigError
from fedgroup.store import sealed
from fedgroup.store.db import latest_schema_version

MEMBERS = (config_module.CONFIG_FILE, config_module.DATABASE_FILE)
# A group's database is small; this bounds what a damaged or hostile archive can make us write.
MAX_MEMBER_BYTES = 4 * 1024**3
WARNING = (
    "this backup holds the group's private keys and all members' data: keep it private "
    "(whoever has it can speak as the group)"
)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is one line for the operator."""


def _snapshot(database: Path, target: Path) -> None:
    """A consistent copy of a live database (WAL and all), through the backup API."""
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        finally:
            copy.close()
    finally:
        source.close()


def create(data_dir: Path, to_file: Path, passphrase: str | None = None) -> int:
    """Write the backup of `data_dir` to `to_file` (never overwriting one); returns its size in bytes."""
    _check_data_dir(data_dir)
    if to_file.exists():
        raise BackupError(f"{to_file} already exists; refusing to overwrite it")
    try:
        fd = os.open(to_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise BackupError(f"cannot create {to_file}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as out:
            write(data_dir, out, passphrase)
    except BaseException as e:
        to_file.unlink(missing_ok=True)  # no half-written backup that looks like a whole one
        if isinstance(e, OSError):
            raise BackupError(f"cannot write {to_file}: {e.strerror}") from e
        raise
    return to_file.stat().st_size


def _check_data_dir(data_dir: Path) -> None:
    if not (data_dir / config_module.CONFIG_FILE).is_file() or not (data_dir / config_module.DATABASE_FILE).is_file():
        raise BackupError(f"no fedgroup data in {data_dir}")


def write(data_dir: Path, out: BinaryIO, passphrase: str | None = None) -> None:
    """Write the backup of `data_dir` to the stream `out` (a file, or stdout), sealed if a passphrase is given."""
    _check_data_dir(data_dir)
    database = data_dir / config_module.DATABASE_FILE
    with tempfile.TemporaryDirectory(prefix="fedgroup-backup-") as scratch:
        copy = Path(scratch) / config_module.DATABASE_FILE
        try:
            _snapshot(database, copy)
        except sqlite3.Error as e:
            raise BackupError(f"cannot read {database}: {e}") from e
        target: BinaryIO | sealed.SealingWriter = out
        if passphrase is not None:
            try:
                target = sealed.SealingWriter(out, passphrase)
            except sealed.SealError as e:
                raise BackupError(str(e)) from e
        with tarfile.open(fileobj=target, mode="w|gz") as archive:  # type: ignore[call-overload]
            archive.add(data_dir / config_module.CONFIG_FILE, arcname=config_module.CONFIG_FILE)
            archive.add(copy, arcname=config_module.DATABASE_FILE)
        if target is not out:
            target.close()
        out.flush()


def _plain_archive(from_file: Path, passphrase: str | None, spool: BinaryIO) -> BinaryIO:
    """The backup's tar.gz as a readable file: the file itself, or (sealed) its contents unsealed into spool."""
    try:
        source = open(from_file, "rb")  # noqa: SIM115 - returned open, or closed below
    except FileNotFoundError as e:
        raise BackupError(f"{from_file} does not exist") from e
    except OSError as e:
        raise BackupError(f"cannot read {from_file}: {e.strerror}") from e
    if not sealed.is_sealed(source.read(len(sealed.MAGIC))):
        source.seek(0)
        return source
    with source:
        source.seek(0)
        if passphrase is None:
            raise BackupError(
                f"{from_file} is encrypted: give its passphrase with --passphrase-stdin or FEDGROUP_BACKUP_PASSPHRASE"
            )
        written = 0
        try:
            for chunk in sealed.unseal(source, passphrase):
                written += len(chunk)
                if written > 2 * MAX_MEMBER_BYTES:
                    raise BackupError(f"{from_file} is implausibly large")
                spool.write(chunk)
        except sealed.SealError as e:
            raise BackupError(f"{from_file}: {e}") from e
    spool.seek(0)
    return spool


def _read_members(from_file: Path, passphrase: str | None = None) -> dict[str, bytes]:
    with tempfile.TemporaryFile(prefix="fedgroup-restore-") as spool:
        plain = _plain_archive(from_file, passphrase, spool)
        with plain:
            return _members_of(from_file, plain)


def _members_of(from_file: Path, plain: BinaryIO) -> dict[str, bytes]:
    try:
        archive = tarfile.open(fileobj=plain, mode="r:gz")
    except (OSError, tarfile.TarError) as e:
        raise BackupError(f"{from_file} is not a fedgroup backup: {e}") from e
    found: dict[str, bytes] = {}
    with archive:
        try:
            for info in archive:
                # Only our two plain files: no paths, links or devices from the archive reach the disk.
                if info.name not in MEMBERS or not info.isfile() or info.name in found:
                    raise BackupError(f"{from_file} is not a fedgroup backup (unexpected {info.name!r})")
                if info.size > MAX_MEMBER_BYTES:
                    raise BackupError(f"{from_file}: {info.name} is implausibly large")
                extracted = archive.extractfile(info)
                assert extracted is not None
                found[info.name] = extracted.read()
        except (OSError, tarfile.TarError, EOFError) as e:
            raise BackupError(f"{from_file} is damaged: {e}") from e
    missing = [m for m in MEMBERS if m not in found]
    if missing:
        raise BackupError(f"{from_file} is not a fedgroup backup (no {', '.join(missing)})")
    return found


def _check_database(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
            has_site = conn.execute("SELECT COUNT(*) FROM site").fetchone()[0] == 1
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise BackupError(f"the backup's database cannot be read: {e}") from e
    if verdict != "ok":
        raise BackupError(f"the backup's database is damaged: {verdict}")
    if version > latest_schema_version():
        raise BackupError(f"the backup is from a newer fedgroup (schema {version}); upgrade first")
    if not has_site:
        raise BackupError("the backup's database holds no group")


def restore(from_file: Path, data_dir: Path, passphrase: str | None = None) -> config_module.Config:
    """Unpack a backup into a new data dir (refusing an existing one); returns its config. Nothing is written
    to data_dir before the whole backup has been read and checked (and unsealed, for a sealed one)."""
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} is not empty; restore into a new directory")
    found = _read_members(from_file, passphrase)
    try:
        raw = found[config_module.CONFIG_FILE].decode("utf-8")
        config_module.from_mapping(data_dir, tomllib.loads(raw))
    except (UnicodeDecodeError, ValueError, ConfigError) as e:
        raise BackupError(f"the backup's {config_module.CONFIG_FILE} is not usable: {e}") from e
    parent = data_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".fedgroup-restore-", dir=parent))
    except OSError as e:
        raise BackupError(f"cannot write to {parent}: {e.strerror}") from e
    try:
        for name, content in found.items():
            fd = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(content)
        _check_database(staging / config_module.DATABASE_FILE)
        if data_dir.exists():
            data_dir.rmdir()  # empty, checked above
        staging.rename(data_dir)
    except BaseException:
        for leftover in staging.iterdir() if staging.exists() else []:
            leftover.unlink()
        if staging.exists():
            staging.rmdir()
        raise
    return config_module.load(data_dir)
