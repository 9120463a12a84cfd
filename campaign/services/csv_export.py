"""CSV exports of personal data: cells safe to open in a spreadsheet, streamed in pieces.

Shared by every export in the panel (signatures, an event's attendees).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

# A spreadsheet runs a cell that starts with one of these as a formula; a quote in front makes
# it text (OWASP's advice on CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(cell: str) -> str:
    """`cell`, made inert for spreadsheets if it could be read as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def iso_utc(moment: datetime | None) -> str:
    """A moment as "2024-05-01T09:00:00Z", or "" for none."""
    if moment is None:
        return ""
    # isoformat is several times faster than strftime, which matters over a million rows.
    return moment.astimezone(UTC).isoformat(timespec="seconds")[:19] + "Z"


def csv_chunks(rows: Iterable[list[str]], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """CSV text for `rows`, a byte order mark first (so spreadsheet apps read UTF-8), in
    pieces of `rows_per_chunk` rows: enough to send efficiently, small enough to stay light."""
    yield "\ufeff"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()
