"""Sealed (passphrase-encrypted) backup files: scrypt derives the key, AES-256-GCM seals the file in chunks.

A backup can be large and is written to a pipe (`backup --to -`), so it is sealed chunk by chunk, never held
whole. The layout (README, "Encrypted backups"):

    header   "FEDGROUP-SEALED\\n" (16 bytes), format version (1 byte, 1), scrypt log2(N), r, p (1 byte each),
             salt (16 bytes), nonce prefix (7 bytes)                                   -- 43 bytes in all
    chunks   each: ciphertext length (4 bytes, big-endian) and the AES-256-GCM ciphertext with its 16-byte tag
             of up to CHUNK bytes of the plain file

Chunk i is sealed with nonce = prefix ‖ i (4 bytes, big-endian) ‖ 1 for the last chunk, 0 otherwise, and the
whole header as associated data: chunks cannot be reordered, dropped, cut off at the end, or moved to another
file, and the scrypt parameters cannot be changed, without the tag failing. The key is
scrypt(passphrase as UTF-8, salt, N, r, p) of 32 bytes.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"FEDGROUP-SEALED\n"
FORMAT_VERSION = 1
CHUNK = 1024 * 1024
# scrypt with N = 2**15, r = 8: 32 MiB of memory and a fraction of a second per guess.
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
# What a file may ask of us: a hostile header must not make us spend gigabytes deriving its key.
MAX_LOG2_N, MAX_R, MAX_P = 20, 16, 4
HEADER = struct.Struct(f">{len(MAGIC)}sBBBB16s7s")
LENGTH = struct.Struct(">I")
TAG = 16


class SealError(Exception):
    """A sealed file that cannot be opened; the message is one line for the operator."""


def is_sealed(start: bytes) -> bool:
    return start.startswith(MAGIC)


def _key(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class SealingWriter:
    """A write-only file that seals what it is given into `out`; `close()` seals the last chunk (and must be
    called: a file without its last chunk does not open)."""

    def __init__(self, out: BinaryIO, passphrase: str) -> None:
        if not passphrase:
            raise SealError("the passphrase is empty")
        salt, prefix = os.urandom(16), os.urandom(7)
        self._header = HEADER.pack(MAGIC, FORMAT_VERSION, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, salt, prefix)
        self._aead = AESGCM(_key(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P))
        self._prefix = prefix
        self._out = out
        self._pending = bytearray()
        self._index = 0
        self._closed = False
        out.write(self._header)

    def write(self, data: bytes) -> int:
        self._pending += data
        # Keep at least one byte back: the last chunk is only known at close.
        while len(self._pending) > CHUNK:
            self._seal(bytes(self._pending[:CHUNK]), last=False)
            del self._pending[:CHUNK]
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._seal(bytes(self._pending), last=True)
        self._pending.clear()
        self._out.flush()

    def _seal(self, plain: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, last), plain, self._header)
        self._out.write(LENGTH.pack(len(sealed)) + sealed)
        self._index += 1


def unseal(source: BinaryIO, passphrase: str) -> Iterator[bytes]:
    """The plain file, chunk by chunk. A wrong passphrase fails on the first chunk, before anything is
    yielded; a changed or cut-off file fails where the change is."""
    header = source.read(HEADER.size)
    if len(header) < HEADER.size or not is_sealed(header):
        raise SealError("not a sealed fedgroup backup")
    _, version, log2_n, r, p, salt, prefix = HEADER.unpack(header)
    if version != FORMAT_VERSION:
        raise SealError(f"sealed with an unknown format version {version}; upgrade fedgroup")
    if not (1 <= log2_n <= MAX_LOG2_N and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
        raise SealError("the sealed backup asks for key derivation parameters beyond what is allowed")
    aead = AESGCM(_key(passphrase, salt, log2_n, r, p))
    index = 0
    chunk = _read_chunk(source)
    if chunk is None:
        raise SealError("the sealed backup is cut off (no data)")
    while chunk is not None:
        following = _read_chunk(source)
        try:
            yield aead.decrypt(_nonce(prefix, index, following is None), chunk, header)
        except InvalidTag:
            if index == 0:
                raise SealError("wrong passphrase, or the backup was changed") from None
            raise SealError(f"the backup was changed or cut off (chunk {index} does not open)") from None
        index += 1
        chunk = following


def _read_chunk(source: BinaryIO) -> bytes | None:
    length_bytes = source.read(LENGTH.size)
    if not length_bytes:
        return None
    if len(length_bytes) < LENGTH.size:
        raise SealError("the sealed backup is cut off")
    (length,) = LENGTH.unpack(length_bytes)
    if not TAG <= length <= CHUNK + TAG:
        raise SealError("the sealed backup is damaged (a chunk of impossible length)")
    chunk = source.read(length)
    if len(chunk) < length:
        raise SealError("the sealed backup is cut off")
    return chunk
