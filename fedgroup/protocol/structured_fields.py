"""RFC 8941 structured fields: the parts RFC 9421 signatures need (dictionaries, inner lists, parameters,
tokens, strings, byte sequences, integers, decimals, booleans). Pure; errors are ValueError."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

_TOKEN_RE = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~:/A-Za-z0-9]*")


_KEY_RE = re.compile(r"[a-z*][a-z0-9_\-.*]*")


_NUMBER_RE = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,3})?")


class _SfParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{what} at {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.pos += 1

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def key(self) -> str:
        match = _KEY_RE.match(self.text, self.pos)
        if not match:
            raise self.fail("expected a key")
        self.pos = match.end()
        return match.group()

    def bare_item(self) -> Any:
        ch = self.peek()
        if ch == '"':
            return self.string()
        if ch == ":":
            end = self.text.find(":", self.pos + 1)
            if end < 0:
                raise self.fail("unterminated byte sequence")
            raw = self.text[self.pos + 1 : end]
            self.pos = end + 1
            try:
                return base64.b64decode(raw, validate=True)
            except ValueError as e:
                raise self.fail("bad base64") from e
        if ch == "?":
            value = self.text[self.pos + 1 : self.pos + 2]
            if value not in ("0", "1"):
                raise self.fail("bad boolean")
            self.pos += 2
            return value == "1"
        if ch == "-" or ch.isdigit():
            match = _NUMBER_RE.match(self.text, self.pos)
            if not match:
                raise self.fail("bad number")
            self.pos = match.end()
            return float(match.group()) if match.group(1) else int(match.group())
        match = _TOKEN_RE.match(self.text, self.pos)
        if not match:
            raise self.fail("unexpected character")
        self.pos = match.end()
        return Token(match.group())

    def string(self) -> str:
        self.pos += 1
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise self.fail("unterminated string")
            self.pos += 1
            if ch == '"':
                return "".join(out)
            if ch == "\\":
                nxt = self.peek()
                if nxt not in ('"', "\\"):
                    raise self.fail("bad escape")
                out.append(nxt)
                self.pos += 1
            elif ord(ch) < 0x20 or ord(ch) > 0x7E:
                raise self.fail("bad string character")
            else:
                out.append(ch)

    def parameters(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip_sp()
            name = self.key()
            value: Any = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[name] = value
        return params

    def item_or_inner_list(self) -> tuple[Any, dict[str, Any]]:
        if self.peek() == "(":
            self.pos += 1
            items: list[tuple[Any, dict[str, Any]]] = []
            while True:
                self.skip_sp()
                if self.peek() == ")":
                    self.pos += 1
                    return items, self.parameters()
                item = self.bare_item()
                items.append((item, self.parameters()))
                if self.peek() not in (" ", ")"):
                    raise self.fail("expected space or ')'")
        item = self.bare_item()
        return item, self.parameters()


class Token(str):
    """An sf-token (as opposed to an sf-string) — serialised without quotes."""


def parse_sf_dictionary(text: str) -> dict[str, tuple[Any, dict[str, Any]]]:
    """An RFC 8941 dictionary: name → (item or inner list of (item, params), params)."""
    parser = _SfParser(text.strip())
    result: dict[str, tuple[Any, dict[str, Any]]] = {}
    if not parser.text:
        return result
    while True:
        name = parser.key()
        if parser.peek() == "=":
            parser.pos += 1
            result[name] = parser.item_or_inner_list()
        else:
            result[name] = (True, parser.parameters())
        parser.skip_ows()
        if not parser.peek():
            return result
        if parser.peek() != ",":
            raise parser.fail("expected ','")
        parser.pos += 1
        parser.skip_ows()
        if not parser.peek():
            raise parser.fail("trailing comma")


def serialize_bare(value: Any) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode() + ":"
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if "." in f"{value}" else str(value)
    raise ValueError(f"cannot serialise {value!r}")


def serialize_params(params: Mapping[str, Any]) -> str:
    return "".join(f";{k}" if v is True else f";{k}={serialize_bare(v)}" for k, v in params.items())


def serialize_inner_list(items: list[tuple[Any, dict[str, Any]]], params: Mapping[str, Any]) -> str:
    inner = " ".join(serialize_bare(item) + serialize_params(p) for item, p in items)
    return f"({inner}){serialize_params(params)}"
