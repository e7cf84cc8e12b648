"""Shift schedule: who works when, from a CSV file or a Google Sheets CSV-export URL.

CSV (UTF-8, header row; other columns ignored)::

    seller_id,name,start,end,camera,store
    anna,Anna K.,2026-03-01T09:00:00+03:00,2026-03-01T15:00:00+03:00,cam1,
    boris,,2026-03-01T12:00:00+03:00,2026-03-01T21:00:00+03:00,,shop12

``seller_id`` or ``name`` is required (the id defaults to the name); ``start``/``end`` are ISO 8601 **with** a time
zone; ``camera`` and ``store`` are optional filters (empty = any camera / any store). Every bad row is reported in
one :class:`InputError` with its line number (header = line 1). A Google Sheets link
(``https://docs.google.com/spreadsheets/d/<id>/edit#gid=<g>``) is turned into its CSV export
(``…/export?format=csv&gid=<g>``); any other ``http(s)://`` URL is fetched as is (httpx, 3 tries).

How roles use it: :func:`sightings.solutions.retail.roles.assign_roles` with ``shifts``.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from sightings.core.errors import BackendError, BackendUnavailableError, InputError, NotFoundError

__all__ = ["Shift", "parse_schedule", "read_schedule", "sheet_export_url", "shifts_for"]

REQUIRED_COLUMNS = ("start", "end")
_MAX_LISTED = 10
_SHEET = re.compile(r"^https://docs\.google\.com/spreadsheets/d/(?P<id>[A-Za-z0-9_-]+)(?:/[^?#]*)?(?P<rest>.*)$")


@dataclass(frozen=True, slots=True)
class Shift:
    """One shift of one seller: timezone-aware start/end; camera/store '' = any."""

    seller_id: str
    name: str
    start: datetime
    end: datetime
    camera: str = ""
    store: str = ""
    line: int = 0

    def overlap_s(self, start: datetime, end: datetime) -> float:
        """Seconds this shift overlaps ``[start, end)``."""
        return max(0.0, (min(self.end, end) - max(self.start, start)).total_seconds())


def sheet_export_url(url: str) -> str:
    """A Google Sheets link as its CSV-export URL (other URLs unchanged)."""
    m = _SHEET.match(url)
    if m is None or "/export" in url:
        return url
    gid = re.search(r"gid=(\d+)", m.group("rest"))
    return f"https://docs.google.com/spreadsheets/d/{m.group('id')}/export?format=csv" + (
        f"&gid={gid.group(1)}" if gid else ""
    )


def _time(text: str, column: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not an ISO 8601 time") from None
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{column} {text!r} has no time zone (add +03:00 or Z)")
    return ts


def _row(row: Mapping[str, str | None], line: int) -> Shift:
    def get(key: str) -> str:
        return (row.get(key) or "").strip()

    seller_id, name = get("seller_id"), get("name")
    if not seller_id and not name:
        raise ValueError("no seller_id or name")
    start, end = _time(get("start"), "start"), _time(get("end"), "end")
    if end <= start:
        raise ValueError(f"end {get('end')!r} is not after start {get('start')!r}")
    return Shift(seller_id or name, name or seller_id, start, end, get("camera"), get("store"), line)


def parse_schedule(text: str, *, where: str) -> list[Shift]:
    """Shifts from CSV ``text``, sorted by start; one InputError lists all bad rows by line number."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing or not ({"seller_id", "name"} & set(header)):
        raise InputError(
            f"missing columns {missing or ['seller_id or name']}; header must have seller_id (or name), start, end "
            "and may have camera, store",
            where=where,
        )
    reader.fieldnames = header
    shifts: list[Shift] = []
    bad: list[str] = []
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                bad.append(f"row {line}: more fields than the header")
                continue
            if not any((v or "").strip() for v in row.values()):
                continue  # blank line (spreadsheets export trailing empty rows)
            try:
                shifts.append(_row(row, line))
            except ValueError as exc:
                bad.append(f"row {line}: {exc}")
    except csv.Error as exc:
        raise InputError(f"cannot read the schedule: {exc}", where=where) from None
    if bad:
        more = f"; … {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
        raise InputError(f"{len(bad)} bad rows: " + "; ".join(bad[:_MAX_LISTED]) + more, where=where)
    return sorted(shifts, key=lambda s: (s.start, s.seller_id))


def _fetch(url: str, *, timeout_s: float, retries: int) -> str:
    try:
        import httpx
    except ImportError:
        raise BackendUnavailableError(
            "fetching a schedule URL needs httpx", where="schedule", hint="pip install 'sightings[retail]'"
        ) from None
    shown = urlsplit(url)._replace(query="", fragment="").geturl()
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(0.5 * 2 ** (attempt - 1))
        try:
            response = httpx.get(url, timeout=timeout_s, follow_redirects=True)
        except httpx.TransportError as exc:
            last = " ".join(str(exc).split())[:160] or type(exc).__name__
            continue
        if response.status_code == 404:
            raise NotFoundError("schedule not found (HTTP 404)", where=shown)
        if response.status_code >= 500:
            last = f"HTTP {response.status_code}"
            continue
        if response.status_code >= 400:
            raise BackendError(
                f"the schedule URL answered HTTP {response.status_code} (is the sheet shared for viewing?)",
                where=shown,
            )
        return response.text
    raise BackendUnavailableError(f"cannot fetch the schedule after {retries + 1} tries ({last})", where=shown)


def read_schedule(source: str | Path, *, timeout_s: float = 20.0, retries: int = 2) -> list[Shift]:
    """Shifts from a CSV path or an ``http(s)://`` URL (Google Sheets links become their CSV export)."""
    text_source = str(source)
    if urlsplit(text_source).scheme in ("http", "https"):
        url = sheet_export_url(text_source)
        return parse_schedule(_fetch(url, timeout_s=timeout_s, retries=retries), where=text_source)
    path = Path(source)
    if not path.exists():
        raise NotFoundError("schedule file not found", where=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the schedule: {exc}", where=path) from None
    return parse_schedule(text, where=str(path))


def shifts_for(shifts: Sequence[Shift], *, store: str, camera: str, start: datetime, end: datetime) -> list[Shift]:
    """The shifts that apply to ``camera`` of ``store`` and overlap ``[start, end)``."""
    return [
        s
        for s in shifts
        if (not s.store or s.store == store) and (not s.camera or s.camera == camera) and s.overlap_s(start, end) > 0
    ]
