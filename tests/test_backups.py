"""Backups to stdout and encrypted backups, through the real command line; the sealed format's own checks."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from fedgroup.store import sealed
from tests.test_cli import CLI, assert_one_line_error, run

PASSPHRASE = "correct horse battery staple"


def fedgroup(*args: str, stdin: str | None = None, env: dict[str, str] | None = None, stdout=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FEDGROUP_")} | (env or {})
    return subprocess.run(
        [*CLI, *args], input=stdin.encode() if stdin is not None else None, env=environment, timeout=120,
        stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
    )


def text(result: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(result.args, result.returncode, "", result.stderr.decode())


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def group(tmp_path: Path) -> Path:
    data = tmp_path / "water"
    assert run("init", "--data-dir", str(data), "--base-url", "https://water.example", "--name", "Water").returncode == 0
    assert run("campaign", "create", "--data-dir", str(data), "--title", "Clean the river",
               "--body", "Saturday").returncode == 0
    return data


def test_backup_to_stdout_restores_the_whole_group(group, tmp_path):
    streamed = tmp_path / "streamed.tar.gz"
    with open(streamed, "wb") as out:
        result = fedgroup("backup", "--data-dir", str(group), "--to", "-", stdout=out)
    assert result.returncode == 0, result.stderr
    assert b"wrote the backup to stdout" in result.stderr
    restored = tmp_path / "restored"
    result = fedgroup("restore", "--from", str(streamed), "--data-dir", str(restored))
    assert result.returncode == 0, result.stderr
    assert dump(restored / "fedgroup.sqlite3") == dump(group / "fedgroup.sqlite3")
    assert (restored / "config.toml").read_bytes() == (group / "config.toml").read_bytes()


def test_an_encrypted_backup_opens_only_with_its_passphrase(group, tmp_path):
    backup = tmp_path / "water.sealed"
    result = fedgroup("backup", "--data-dir", str(group), "--to", str(backup), "--passphrase-stdin",
                      stdin=PASSPHRASE + "\n")
    assert result.returncode == 0, result.stderr
    assert b"encrypted" in result.stdout
    content = backup.read_bytes()
    assert content.startswith(sealed.MAGIC)
    for secret in (b"PRIVATE KEY", b"config.toml", b"Clean the river", b"water.example"):
        assert secret not in content
    assert backup.stat().st_mode & 0o077 == 0

    restored = tmp_path / "restored"
    # No passphrase, a wrong one (stdin or environment): refused in one line, the data dir untouched.
    for attempt in (
        fedgroup("restore", "--from", str(backup), "--data-dir", str(restored)),
        fedgroup("restore", "--from", str(backup), "--data-dir", str(restored), "--passphrase-stdin",
                 stdin="correct horse battery stapler\n"),
        fedgroup("restore", "--from", str(backup), "--data-dir", str(restored),
                 env={"FEDGROUP_BACKUP_PASSPHRASE": "Correct horse battery staple"}),
    ):
        assert_one_line_error(text(attempt))
        assert not restored.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fedgroup-restore-")]
    assert b"is encrypted: give its passphrase" in fedgroup(
        "restore", "--from", str(backup), "--data-dir", str(restored)).stderr
    wrong = fedgroup("restore", "--from", str(backup), "--data-dir", str(restored), "--passphrase-stdin",
                     stdin="nope\n")
    assert b"wrong passphrase" in wrong.stderr
    # An empty directory made for it stays empty.
    restored.mkdir()
    assert fedgroup("restore", "--from", str(backup), "--data-dir", str(restored), "--passphrase-stdin",
                    stdin="nope\n").returncode != 0
    assert list(restored.iterdir()) == []

    result = fedgroup("restore", "--from", str(backup), "--data-dir", str(restored),
                      env={"FEDGROUP_BACKUP_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    assert dump(restored / "fedgroup.sqlite3") == dump(group / "fedgroup.sqlite3")


def test_an_encrypted_backup_to_stdout_with_the_passphrase_from_the_environment(group, tmp_path):
    streamed = tmp_path / "streamed.sealed"
    with open(streamed, "wb") as out:
        result = fedgroup("backup", "--data-dir", str(group), "--to", "-", stdout=out,
                          env={"FEDGROUP_BACKUP_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    assert streamed.read_bytes().startswith(sealed.MAGIC)
    result = fedgroup("restore", "--from", str(streamed), "--data-dir", str(tmp_path / "restored"),
                      "--passphrase-stdin", stdin=PASSPHRASE)
    assert result.returncode == 0, result.stderr


def seal(plain: bytes, passphrase: str = PASSPHRASE, pieces: int = 7) -> bytes:
    out = io.BytesIO()
    writer = sealed.SealingWriter(out, passphrase)
    step = max(1, len(plain) // pieces)
    for start in range(0, len(plain), step):
        writer.write(plain[start : start + step])
    writer.close()
    return out.getvalue()


def unseal(data: bytes, passphrase: str = PASSPHRASE) -> bytes:
    return b"".join(sealed.unseal(io.BytesIO(data), passphrase))


@pytest.mark.parametrize("size", [0, 1, sealed.CHUNK - 1, sealed.CHUNK, sealed.CHUNK + 1, 2 * sealed.CHUNK + 12345])
def test_sealed_files_of_any_size_round_trip_in_chunks(size):
    plain = os.urandom(size)
    data = seal(plain)
    assert unseal(data) == plain
    chunks = -(-size // sealed.CHUNK) if size else 1  # the last chunk is never empty unless the file is
    assert len(data) == sealed.HEADER.size + chunks * (sealed.LENGTH.size + sealed.TAG) + size


def test_a_changed_reordered_or_cut_off_sealed_file_does_not_open():
    plain = os.urandom(2 * sealed.CHUNK + 100)
    data = seal(plain)
    first = sealed.HEADER.size
    chunk_len = sealed.LENGTH.size + sealed.CHUNK + sealed.TAG
    flipped = bytearray(data)
    flipped[first + chunk_len + 100] ^= 1
    cut = data[: first + 2 * chunk_len]  # the last chunk dropped: what is left ends on a non-final chunk
    swapped = data[:first] + data[first + chunk_len : first + 2 * chunk_len] + data[first : first + chunk_len] + data[first + 2 * chunk_len :]
    params = bytearray(data)
    params[len(sealed.MAGIC) + 1] = 14  # a weaker scrypt N than the file was sealed with
    for damaged in (bytes(flipped), cut, swapped, bytes(params), data[:-1]):
        with pytest.raises(sealed.SealError):
            unseal(damaged)
    with pytest.raises(sealed.SealError, match="wrong passphrase"):
        unseal(data, "not it")
    greedy = bytearray(data)
    greedy[len(sealed.MAGIC) + 1] = 40  # 2**40: refused before any work
    with pytest.raises(sealed.SealError, match="beyond what is allowed"):
        unseal(bytes(greedy))
