"""CSV files for spreadsheet programs: the one writer every export uses. Pure: rows in, bytes out.

Every cell is quoted; a cell that would start a formula (= + - @, tab, CR) at its beginning or after any
character some spreadsheet splits cells on gets a ' before it; the file is UTF-8 with a byte-order mark."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

# A formula start at the beginning of a cell, or after a character some spreadsheet splits cells on (most of
# Europe's split on ";", others on tab or "|"; a quoted cell may hold line breaks).
_FORMULA_START = re.compile(r"(?<![^,;\t|\r\n])[=+\-@\t\r]")


def cell(value: object) -> str:
    """Spreadsheets run a cell starting with = + - @ (or tab, CR) as a formula: put a ' before every such
    start, at the beginning and after any separator, so that no split of the cell yields a formula."""
    text = "" if value is None else str(value)
    return _FORMULA_START.sub(lambda m: "'" + m.group(), text)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The whole file. UTF-8 with a byte-order mark: without it spreadsheet programs read the file in a
    local code page."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow([cell(v) for v in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode()
