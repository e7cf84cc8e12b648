"""The warehouse's tables and views as data, the one DDL generator, and row validation.

Both ClickHouse backends (chDB and a server) run the DDL from :func:`create_statements`, so tables and views are
the same SQL everywhere. Row validation lives here too (``TableSpec.validate_rows``), so every backend — and the
fake in ``sightings.testing.fakes``, which receives a schema object — rejects the same bad rows the same way.

Tables (``WAREHOUSE_SCHEMA``; times are ``DateTime('UTC')``, hours in the views are UTC hours):

    runs          one row per processed video (run_id = one video + config)               kept
    tracks        raw per-frame track points                                              TTL ts + 3 days
    interactions  seller–customer episodes (start, end, duration, purchase outcome)       kept
    receipts      imported till receipts                                                  kept
    metrics       aggregates, long format: (store, camera, seller, hour, name) → value    kept
    alerts        camera health / drift alerts                                            kept
    gaps          recording gaps (inside a file, between files of a camera)               kept

Columns added after a table first shipped carry ``added_later=True``: :func:`create_statements` adds them to
existing warehouses with ``ALTER TABLE … ADD COLUMN IF NOT EXISTS`` (idempotent), so old folders keep working.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sightings.core.errors import ConfigError, InputError

__all__ = [
    "WAREHOUSE_SCHEMA",
    "Column",
    "TableSpec",
    "ViewSpec",
    "WarehouseSchema",
    "check_identifier",
    "check_value",
    "create_statements",
    "unwrap_type",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT_RANGES = {
    "UInt8": (0, 2**8 - 1),
    "UInt16": (0, 2**16 - 1),
    "UInt32": (0, 2**32 - 1),
    "UInt64": (0, 2**64 - 1),
    "Int8": (-(2**7), 2**7 - 1),
    "Int16": (-(2**15), 2**15 - 1),
    "Int32": (-(2**31), 2**31 - 1),
    "Int64": (-(2**63), 2**63 - 1),
}
_WRAPPER = re.compile(r"^(Nullable|LowCardinality)\((.*)\)$")


def check_identifier(name: str, *, where: str) -> str:
    """``name`` if it is a plain SQL identifier (letters, digits, underscore), else an :class:`InputError`."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InputError(f"not a plain identifier: {name!r}", where=where)
    return name


def unwrap_type(ch_type: str) -> str:
    """The ClickHouse type under any Nullable(...) / LowCardinality(...) wrappers."""
    return _base_type(ch_type)[0]


def _base_type(ch_type: str) -> tuple[str, bool]:
    """The type under Nullable/LowCardinality wrappers, and whether NULL is allowed."""
    nullable = False
    m = _WRAPPER.match(ch_type)
    while m:
        nullable = nullable or m.group(1) == "Nullable"
        ch_type = m.group(2)
        m = _WRAPPER.match(ch_type)
    return ch_type, nullable


def _check_string(ch_type: str, value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"expected str for {ch_type}, got {type(value).__name__}")
    return value


def _check_int(ch_type: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected int for {ch_type}, got {type(value).__name__}")
    lo, hi = _INT_RANGES[unwrap_type(ch_type)]
    if not lo <= value <= hi:
        raise ValueError(f"{value} is out of range for {ch_type}")
    return value


def _check_float(ch_type: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected float for {ch_type}, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    return float(value)


def _check_bool(ch_type: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError(f"expected bool for {ch_type}, got {type(value).__name__}")
    return value


def _check_datetime(ch_type: str, value: Any) -> Any:
    if not isinstance(value, datetime):
        raise ValueError(f"expected datetime for {ch_type}, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: give a timezone-aware (UTC) datetime")
    return value.astimezone(UTC)


def _check_date(ch_type: str, value: Any) -> Any:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"expected date for {ch_type}, got {type(value).__name__}")
    return value


_CHECKERS: dict[str, Callable[[str, Any], Any]] = {
    "String": _check_string,
    **dict.fromkeys(_INT_RANGES, _check_int),
    "Float32": _check_float,
    "Float64": _check_float,
    "Bool": _check_bool,
    "DateTime": _check_datetime,
    "Date": _check_date,
}


def check_value(ch_type: str, value: Any) -> Any:
    """``value`` normalised for a column of ClickHouse type ``ch_type``; ``ValueError`` says why it does not fit.

    Datetimes must be timezone-aware (converted to UTC); dates are ``datetime.date``; floats accept ints.
    """
    base, nullable = _base_type(ch_type)
    if value is None:
        if nullable:
            return None
        raise ValueError(f"NULL in a non-Nullable {ch_type} column")
    checker = _CHECKERS.get("DateTime" if base.startswith("DateTime") else base)
    if checker is None:
        raise ValueError(f"column type {ch_type} is not supported by the row validator")
    return checker(ch_type, value)


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name, ClickHouse type and what it holds (units in the description)."""

    name: str
    type: str
    description: str = ""
    added_later: bool = False
    """added after the table first shipped: existing warehouses get it by ``ALTER TABLE … ADD COLUMN``"""


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A MergeTree table: columns, sort key, optional partition and TTL expression."""

    name: str
    columns: tuple[Column, ...]
    order_by: tuple[str, ...]
    partition_by: str | None = None
    ttl: str | None = None
    """ClickHouse TTL expression, e.g. ``"ts + INTERVAL 3 DAY"``; None = kept"""
    description: str = ""

    def __post_init__(self) -> None:
        check_identifier(self.name, where="warehouse table")
        names = [c.name for c in self.columns]
        if not names or len(set(names)) != len(names):
            raise ConfigError("a table needs distinct column names", where=f"warehouse table {self.name}")
        for name in (*names, *self.order_by):
            check_identifier(name, where=f"warehouse table {self.name}")
        missing = [k for k in self.order_by if k not in names]
        if missing:
            raise ConfigError(f"ORDER BY names unknown columns {missing}", where=f"warehouse table {self.name}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise InputError(f"no column {name!r}; columns: {', '.join(self.column_names)}", where=self.name)

    def ddl(self, database: str) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for this table in ``database``."""
        cols = ",\n    ".join(f"{c.name} {c.type}" for c in self.columns)
        parts = [f"CREATE TABLE IF NOT EXISTS {database}.{self.name} (\n    {cols}\n)", "ENGINE = MergeTree"]
        if self.partition_by:
            parts.append(f"PARTITION BY {self.partition_by}")
        parts.append(f"ORDER BY ({', '.join(self.order_by)})")
        if self.ttl:
            parts.append(f"TTL {self.ttl}")
        return "\n".join(parts)

    def migrations(self, database: str) -> list[str]:
        """``ALTER TABLE … ADD COLUMN IF NOT EXISTS`` for each column added after the table first shipped."""
        return [
            f"ALTER TABLE {database}.{self.name} ADD COLUMN IF NOT EXISTS {c.name} {c.type}"
            for c in self.columns
            if c.added_later
        ]

    def validate_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """Every row checked against the columns (names and types), in column order; the first bad one raises.

        The error names the table, the row index and the column, so a caller can find the bad record.
        """
        if isinstance(rows, Mapping) or not isinstance(rows, Sequence):
            raise InputError("rows must be a sequence of mappings (column → value)", where=self.name)
        names = self.column_names
        expected = set(names)
        out: list[tuple[Any, ...]] = []
        for i, row in enumerate(rows):
            where = f"{self.name}[row {i}]"
            if not isinstance(row, Mapping):
                raise InputError(f"a row must be a mapping, got {type(row).__name__}", where=where)
            keys = set(row)
            if keys != expected:
                missing, extra = sorted(expected - keys, key=names.index), sorted(map(str, keys - expected))
                detail = "; ".join(
                    part
                    for part in (
                        f"missing columns {missing}" if missing else "",
                        f"unknown columns {extra}" if extra else "",
                    )
                    if part
                )
                raise InputError(detail, where=where)
            values = []
            for col in self.columns:
                try:
                    values.append(check_value(col.type, row[col.name]))
                except ValueError as exc:
                    raise InputError(str(exc), where=f"{where}.{col.name}") from None
            out.append(tuple(values))
        return out


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """A SQL view for BI tools; ``select`` names tables as ``{db}.table``."""

    name: str
    select: str
    description: str = ""

    def ddl(self, database: str) -> str:
        return f"CREATE OR REPLACE VIEW {database}.{self.name} AS\n{self.select.format(db=database).strip()}"


@dataclass(frozen=True, slots=True)
class WarehouseSchema:
    """The tables and views a warehouse creates; ``table(name)`` is the lookup every insert goes through."""

    tables: tuple[TableSpec, ...]
    views: tuple[ViewSpec, ...] = field(default=())

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name:
                return spec
        known = ", ".join(t.name for t in self.tables)
        raise InputError(f"unknown table {name!r}; known: {known}", where="warehouse")

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)


def create_statements(schema: WarehouseSchema, database: str) -> list[str]:
    """The DDL (database, tables, added columns, then views) for ``schema``; idempotent, the same on chDB and a
    server."""
    check_identifier(database, where="warehouse.database")
    return [
        f"CREATE DATABASE IF NOT EXISTS {database}",
        *(t.ddl(database) for t in schema.tables),
        *(m for t in schema.tables for m in t.migrations(database)),
        *(v.ddl(database) for v in schema.views),
    ]


_UTC = "DateTime('UTC')"
_LC = "LowCardinality(String)"

RUNS = TableSpec(
    "runs",
    (
        Column("run_id", "String", "one video processed with one config (the replace key of every table)"),
        Column("store", _LC, "store id"),
        Column("camera", _LC, "camera id"),
        Column("video", "String", "file path or archive URL"),
        Column("started_at", _UTC, "UTC start of the video"),
        Column("duration_s", "Float64", "video length, seconds"),
        Column("analysis_fps", "Float32", "frames analysed per second of video"),
        Column("config_hash", "String", "hash of the effective pipeline config"),
        Column("status", _LC, "complete / partial / failed"),
        Column("processed_at", _UTC, "UTC time the run finished"),
        Column("content_hash", "String", "SHA-256 of the video file (resume: same file + config = skip)", True),
    ),
    order_by=("store", "camera", "run_id"),
    description="one row per processed video",
)
TRACKS = TableSpec(
    "tracks",
    (
        Column("run_id", "String"),
        Column("store", _LC),
        Column("camera", _LC),
        Column("track_id", "UInt32", "tracker id within the run"),
        Column("ts", _UTC, "UTC time of the frame (TTL column)"),
        Column("t_s", "Float64", "seconds from the start of the video"),
        Column("frame", "UInt32", "frame index in the video"),
        Column("x1", "Float32", "box left, pixels"),
        Column("y1", "Float32", "box top, pixels"),
        Column("x2", "Float32", "box right, pixels"),
        Column("y2", "Float32", "box bottom, pixels"),
        Column("score", "Float32", "detector score in [0, 1]"),
        Column("role", _LC, "seller / customer / unknown"),
        Column("zone", _LC, "zone name the box foot point is in ('' = none)"),
    ),
    order_by=("store", "camera", "run_id", "track_id", "ts"),
    partition_by="toYYYYMMDD(ts)",
    ttl="ts + INTERVAL 3 DAY",
    description="raw per-frame track points, kept 3 days",
)
INTERACTIONS = TableSpec(
    "interactions",
    (
        Column("run_id", "String"),
        Column("store", _LC),
        Column("camera", _LC),
        Column("seller_id", "String", "seller identity (schedule name or track id)"),
        Column("seller_track", "UInt32"),
        Column("customer_track", "UInt32"),
        Column("started_at", _UTC),
        Column("ended_at", _UTC),
        Column("duration_s", "Float64"),
        Column("zone", _LC),
        Column("purchased", "Bool", "a receipt joined to the customer at the checkout"),
        Column("amount", "Float64", "joined receipt amount (0 = none)"),
    ),
    order_by=("store", "started_at", "run_id"),
)
RECEIPTS = TableSpec(
    "receipts",
    (
        Column("source", "String", "receipts file or feed it came from (replace key)"),
        Column("store", _LC),
        Column("register", _LC, "till / register id"),
        Column("receipt_id", "String"),
        Column("ts", _UTC),
        Column("amount", "Float64", "purchase amount, store currency"),
    ),
    order_by=("store", "ts", "receipt_id"),
)
METRICS = TableSpec(
    "metrics",
    (
        Column("run_id", "String"),
        Column("store", _LC),
        Column("camera", _LC),
        Column("seller_id", "String", "'' = the whole store/camera"),
        Column("hour", _UTC, "UTC start of the hour"),
        Column("name", _LC, "customers, interactions, successful_interactions, purchases, revenue, ..."),
        Column("value", "Float64"),
    ),
    order_by=("store", "hour", "seller_id", "name"),
    description="aggregates, long format; never expire",
)
ALERTS = TableSpec(
    "alerts",
    (
        Column("run_id", "String"),
        Column("store", _LC),
        Column("camera", _LC),
        Column("ts", _UTC),
        Column("kind", _LC, "camera_off / black / frozen / empty_scene / drift_count / drift_confidence"),
        Column("severity", _LC, "info / warning / critical"),
        Column("value", "Float64", "the measured statistic"),
        Column("message", "String"),
    ),
    order_by=("store", "camera", "ts"),
)

GAPS = TableSpec(
    "gaps",
    (
        Column(
            "run_id",
            "String",
            "the run the gap was found in (for between-file gaps: the later file; for not_recorded ones: "
            "<store>/<camera>/<YYYYMMDD>/hours, the camera's day)",
        ),
        Column("store", _LC),
        Column("camera", _LC),
        Column(
            "kind",
            _LC,
            "in_file (timestamp jump inside a video) / between_files (no recording) / not_recorded (opening hours "
            "before a camera's first file, after its last, or all day: health.opening_hours)",
        ),
        Column("started_at", _UTC, "UTC time the recording stopped"),
        Column("ended_at", _UTC, "UTC time it resumed"),
        Column("duration_s", "Float64", "seconds without video"),
    ),
    order_by=("store", "camera", "started_at"),
    description="recording gaps; metrics never span one",
)

_PIVOT = """
    sumIf(value, name = 'customers') AS customers,
    sumIf(value, name = 'served_customers') AS served_customers,
    sumIf(value, name = 'interactions') AS interactions,
    sumIf(value, name = 'successful_interactions') AS successful_interactions,
    sumIf(value, name = 'purchases') AS purchases,
    sumIf(value, name = 'revenue') AS revenue"""

VIEWS = (
    ViewSpec(
        "v_seller_hour",
        f"SELECT store, camera, seller_id, hour,{_PIVOT}\nFROM {{db}}.metrics\nGROUP BY store, camera, seller_id, hour",
        "per store, camera, seller and UTC hour: the common metrics side by side",
    ),
    ViewSpec(
        "v_seller_day",
        "SELECT store, seller_id, day, customers, served_customers, interactions, successful_interactions,\n"
        "    purchases, revenue, store_customers,\n"
        "    if(store_customers > 0, served_customers / store_customers, NULL) AS interaction_ratio\n"
        f"FROM (\n  SELECT store, seller_id, toDate(hour) AS day,{_PIVOT}\n"
        "  FROM {db}.metrics GROUP BY store, seller_id, day\n) AS s\n"
        "LEFT JOIN (\n  SELECT store, toDate(hour) AS day, sumIf(value, name = 'customers' AND seller_id = '')"
        " AS store_customers\n  FROM {db}.metrics GROUP BY store, day\n) AS c USING (store, day)",
        "per store, seller and UTC day; interaction_ratio = served customers / the store's customers that day "
        "(the report's definition; NULL without customers)",
    ),
    ViewSpec(
        "v_interactions_hour",
        "SELECT store, camera, seller_id, toStartOfHour(started_at) AS hour,\n"
        "    count() AS interactions, countIf(purchased) AS successful,\n"
        "    avg(duration_s) AS avg_duration_s, sumIf(amount, purchased) AS revenue\n"
        "FROM {db}.interactions\nGROUP BY store, camera, seller_id, hour",
        "interaction episodes per seller and UTC hour, straight from the episodes table",
    ),
    ViewSpec(
        "v_alerts_day",
        "SELECT store, camera, toDate(ts) AS day, kind, severity, count() AS alerts, max(value) AS max_value\n"
        "FROM {db}.alerts\nGROUP BY store, camera, day, kind, severity",
        "alert counts per camera, UTC day, kind and severity",
    ),
)

WAREHOUSE_SCHEMA = WarehouseSchema((RUNS, TRACKS, INTERACTIONS, RECEIPTS, METRICS, ALERTS, GAPS), VIEWS)
"""The default schema every warehouse backend creates."""
