"""CSV export of a contact's participations. Pure: records in, bytes out.

RFC 4180 quoting comes from the `csv` module (names with commas, quotes and newlines survive a round trip); the
file is UTF-8 with a byte-order mark so spreadsheet apps read accents right. A cell that begins with `=`, `+`,
`-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows it as text instead of running it
as a formula (CSV injection). Column names are fixed (not translated): scripts read these files.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import datetime, timezone

from bot.hubspot.models import Participation, State

COLUMNS = (
    "contact email",
    "contact id",
    "first name",
    "last name",
    "event name",
    "marketingEventId",
    "externalEventId",
    "externalAccountId",
    "state",
    "occurredAt",
    "createdAt",
    "attendance percentage",
    "attendance duration seconds",
    "participation id",
)
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._@+-]+")


def neutralise(cell: str) -> str:
    """Prefix `'` to a cell a spreadsheet would treat as a formula."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def iso_utc(moment: datetime | None) -> str:
    """`2026-10-09T18:43:59.508Z`: ISO 8601, UTC, millisecond precision (as HubSpot writes createdAt)."""
    if moment is None:
        return ""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def row(participation: Participation) -> list[str]:
    contact, event = participation.contact, participation.event
    cells = [
        contact.email,
        contact.contact_id,
        contact.first_name,
        contact.last_name,
        event.name,
        event.event_id,
        event.external_event_id,
        event.external_account_id,
        participation.state,
        iso_utc(participation.occurred_at),
        iso_utc(participation.created_at),
        _number(participation.attendance_percentage),
        _number(participation.attendance_duration_seconds),
        participation.participation_id,
    ]
    return [neutralise(cell or "") for cell in cells]


def to_csv(records: Iterable[Participation]) -> str:
    """Header + one row per record, `\\r\\n` line endings, every field that needs it quoted."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for participation in records:
        writer.writerow(row(participation))
    return buffer.getvalue()


def to_csv_bytes(records: Iterable[Participation]) -> bytes:
    """UTF-8 with BOM: Excel then shows `São Paulo`, not mojibake; `csv` readers use `utf-8-sig`.

    A lone surrogate (JSON allows `\\ud800`) cannot be encoded: it becomes `?` instead of failing the export.
    """
    return to_csv(records).encode("utf-8-sig", errors="replace")


def export_filename(identifier: str, state: State | None, day: datetime) -> str:
    """`participations-jane@example.com-attended-2026-11-28.csv`: only characters safe in any file system."""
    who = _UNSAFE_FILENAME.sub("_", identifier).strip("._") or "contact"
    parts = ["participations", who[:80]]
    if state is not None:
        parts.append(state.value.lower())
    parts.append(day.astimezone(timezone.utc).strftime("%Y-%m-%d"))
    return "-".join(parts) + ".csv"
