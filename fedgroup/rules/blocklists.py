"""Shared blocklists in Mastodon's domain-block CSV: reading one, and writing ours. Pure: text in, text out.

Mastodon exports (Administration → Federation → Export) and imports a file whose first line is
`#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate` (older exports and hand-made
lists name the columns without `#`). A severity is `suspend` (what a fedgroup block is), `silence` or `noop`;
fedgroup has no "silence", so only `suspend` rows are blocks here and the others are reported as skipped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from fedgroup.rules.languages import N_, Message

COLUMNS = ("#domain", "#severity", "#reject_media", "#reject_reports", "#public_comment", "#obfuscate")
SEVERITIES = ("suspend", "silence", "noop")
# A list of every blocked domain in the fediverse is a few tens of thousands of rows; this bounds a hostile one.
MAX_ROWS = 100_000
MAX_COMMENT = 1000


class BlocklistError(Exception):
    """A file that is not a domain-block CSV; the message is one line."""


@dataclass(frozen=True)
class BlocklistRow:
    line: int
    domain: str
    severity: str
    public_comment: str = ""
    obfuscated: bool = False


def _truthy(text: str) -> bool:
    return text.strip().lower() in ("true", "1", "yes")


def parse(text: str) -> list[BlocklistRow]:
    """The rows of a domain-block CSV, in file order (a repeated domain keeps its first row)."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise BlocklistError(Message(N_("not a CSV file: %(reason)s"), reason=str(e))) from e
    if header is None:
        raise BlocklistError(N_("the file is empty"))
    names = [h.strip().lower().removeprefix("#") for h in header]
    if "domain" not in names:
        raise BlocklistError(N_("not a domain-block CSV: its first line names no #domain column"))
    column = {name: i for i, name in reversed(list(enumerate(names)))}

    def cell(row: list[str], name: str, default: str = "") -> str:
        i = column.get(name)
        return row[i].strip() if i is not None and i < len(row) else default

    rows: list[BlocklistRow] = []
    seen: set[str] = set()
    try:
        for number, row in enumerate(reader, start=2):
            if not row or not any(c.strip() for c in row):
                continue
            if len(rows) >= MAX_ROWS:
                raise BlocklistError(Message(N_("more than %(most)s rows"), most=f"{MAX_ROWS:,}"))
            domain = cell(row, "domain").lower().rstrip(".")
            if domain in seen:
                continue
            seen.add(domain)
            rows.append(
                BlocklistRow(
                    line=number,
                    domain=domain,
                    # Mastodon treats a row without a severity as a suspension.
                    severity=cell(row, "severity", "suspend").lower() or "suspend",
                    public_comment=cell(row, "public_comment")[:MAX_COMMENT],
                    obfuscated=_truthy(cell(row, "obfuscate")) or "*" in domain,
                )
            )
    except csv.Error as e:
        raise BlocklistError(Message(N_("not a CSV file: %(reason)s"), reason=str(e))) from e
    return rows


def export(domains: list[str]) -> str:
    """Our domain blocks as Mastodon writes them: each a suspension, media and reports rejected."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for domain in sorted(domains):
        writer.writerow([domain, "suspend", "true", "true", "", "false"])
    return out.getvalue()
