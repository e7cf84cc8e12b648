"""Reading the input tables (CSV or Parquet) into rows, with errors that name the file, row and column.

    rows = read_rows(path, required=("platform_id", "video_id"), what="snapshots")
    value = parse_time(rows[0].get("snapshot_at"), where=rows[0].where("snapshot_at"))

Rows keep their position in the file (``line``: the CSV line number, the header being line 1; for Parquet the
1-based row number), so a bad value is reported as ``snapshots.csv: row 12, column 'views': ...``.
Values stay as read (strings for CSV; Python objects for Parquet) until a ``parse_*`` function converts them.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sightings.core.errors import InputError, NotFoundError

__all__ = ["Row", "parse_count", "parse_float", "parse_required_time", "parse_text", "parse_time", "read_rows"]

MISSING = ("", "na", "nan", "null", "none")


@dataclass(frozen=True, slots=True)
class Row:
    """One input row: its values by column, the file and the row number."""

    values: dict[str, Any]
    path: str
    line: int

    def get(self, column: str) -> Any:
        return self.values.get(column)

    def where(self, column: str) -> str:
        return f"{self.path}: row {self.line}, column {column!r}"


def _check_columns(path: Path, columns: Iterable[str], required: Iterable[str], what: str) -> None:
    have = set(columns)
    missing = [c for c in required if c not in have]
    if missing:
        raise InputError(
            f"{what} table lacks column(s) {', '.join(repr(c) for c in missing)}; it has {sorted(have)}", where=path
        )


def read_rows(path: str | Path, *, required: Iterable[str], what: str) -> list[Row]:
    """Rows of a ``.csv`` (UTF-8, header line) or ``.parquet`` file; the required columns must exist."""
    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"no such {what} file", where=file)
    required = tuple(required)
    suffix = file.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _read_parquet(file, required, what)
    if suffix not in (".csv", ".txt"):
        raise InputError(f"{what} must be a .csv or .parquet file", where=file)
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, strict=True)
            if reader.fieldnames is None:
                raise InputError(f"empty {what} file (no header line)", where=file)
            header = [h.strip() for h in reader.fieldnames]
            if len(set(header)) != len(header):
                raise InputError(f"duplicate column names in the header: {header}", where=file)
            _check_columns(file, header, required, what)
            rows = []
            for raw in reader:
                line = reader.line_num
                if None in raw:  # more fields than header columns
                    raise InputError(
                        f"{len(raw) - 1 + len(raw[None])} fields, header has {len(header)}", where=f"{file}: row {line}"
                    )
                values = {h: raw[k] for h, k in zip(header, reader.fieldnames, strict=True)}
                if any(v is None for v in values.values()):
                    raise InputError(f"fewer fields than the {len(header)} header columns", where=f"{file}: row {line}")
                rows.append(Row(values, str(file), line))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=file) from None
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", where=file) from None
    return rows


def _read_parquet(file: Path, required: tuple[str, ...], what: str) -> list[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"unreadable Parquet {what} file: {exc}", where=file) from None
    _check_columns(file, table.column_names, required, what)
    data = table.to_pylist()
    return [Row(values, str(file), i + 1) for i, values in enumerate(data)]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in MISSING


def parse_text(value: Any) -> str | None:
    """A stripped string, or None when empty/missing."""
    return None if _is_missing(value) else str(value).strip()


def parse_time(value: Any, *, where: str, required: bool = True) -> datetime | None:
    """An aware UTC datetime from ISO-8601 text (``Z`` or an offset; no offset means UTC) or a datetime/date."""
    if _is_missing(value):
        if required:
            raise InputError("missing time", where=where)
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(f"not an ISO-8601 time: {text!r}", where=where) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_required_time(value: Any, *, where: str) -> datetime:
    """Like :func:`parse_time`; a missing value is an error."""
    moment = parse_time(value, where=where)
    if moment is None:
        raise InputError("missing time", where=where)
    return moment


def parse_float(value: Any, *, where: str, lo: float | None = None) -> float:
    """A finite number (NaN when missing); below ``lo`` is an error."""
    if _is_missing(value):
        return math.nan
    if isinstance(value, bool):
        raise InputError(f"not a number: {value!r}", where=where)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"not a number: {value!r}", where=where) from None
    if not math.isfinite(number):
        raise InputError(f"not a finite number: {value!r}", where=where)
    if lo is not None and number < lo:
        raise InputError(f"{number:g} is below {lo:g}", where=where)
    return number


def parse_count(value: Any, *, where: str) -> float:
    """A non-negative whole count as a float (NaN when missing)."""
    number = parse_float(value, where=where, lo=0.0)
    if not math.isnan(number) and number != math.floor(number):
        raise InputError(f"a count must be a whole number, got {number:g}", where=where)
    return number
