"""What the chDB and ClickHouse-server warehouses share, so neither copies the other.

``ClickHouseWarehouseBase`` implements the ``Warehouse`` protocol on top of three backend primitives —
``_execute(sql)`` (no result), ``_select(sql)`` (rows as dicts) and ``_insert_values(spec, values)`` (one
INSERT of validated rows) — and owns:

* validation: every row is checked against the table's columns before anything is written, so an insert is
  all-or-nothing per call (one INSERT statement of one block);
* replace-by-key: ``replace(table, rows, key={"run_id": ...})`` = validate rows, check every row carries the key,
  ``DELETE FROM table WHERE key`` (ClickHouse lightweight delete, synchronous), then one INSERT; re-running a video
  replaces its rows, never doubles them (docs/warehouse.md says why not ReplacingMergeTree);
* error mapping: a ClickHouse exception becomes one line, ``ClickHouse: <message> (<NAME>)`` — an unknown
  table or database is a :class:`NotFoundError`, any other SQL error an :class:`InputError`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Self

from sightings.analytics.warehouse_schema import (
    WAREHOUSE_SCHEMA,
    TableSpec,
    WarehouseSchema,
    check_identifier,
    check_value,
    create_statements,
    unwrap_type,
)
from sightings.core.errors import InputError, NotFoundError, SightingsError
from sightings.core.types import as_utc

__all__ = ["ClickHouseWarehouseBase", "clickhouse_error", "convert_json_value", "normalize_value", "sql_literal"]

_CH_ERROR = re.compile(r"Code:\s*(\d+)\.\s*(?:DB::Exception:\s*)?(.*)", re.DOTALL)
_ERROR_NAME = re.compile(r"\s*\(([A-Z_]+)\)\s*$")
_NOT_FOUND_CODES = {60, 81}  # UNKNOWN_TABLE, UNKNOWN_DATABASE


def _short_sql(sql: str, limit: int = 80) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def clickhouse_error(message: str, *, sql: str | None = None, where: str = "warehouse") -> SightingsError:
    """A ClickHouse exception text (chDB or server) as one of our errors with a one-line reason."""
    text = message.strip()
    m = _CH_ERROR.search(text)
    code = int(m.group(1)) if m else None
    body = (m.group(2) if m else text).splitlines()[0] if text else "unknown error"
    body = body.split(", Stack trace")[0].split(". Stack trace")[0].strip()
    name_match = _ERROR_NAME.search(body)
    name = name_match.group(1) if name_match else None
    if name_match:
        body = body[: name_match.start()].rstrip()
    reason = f"ClickHouse: {body}" + (f" ({name})" if name else "")
    location = f"{where} [{_short_sql(sql)}]" if sql else where
    cls = NotFoundError if code in _NOT_FOUND_CODES else InputError
    return cls(reason, where=location)


def sql_literal(value: Any) -> str:
    """A validated Python value as a ClickHouse SQL literal (for replace keys; never for user text in bulk)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"toDateTime('{value.astimezone(UTC):%Y-%m-%d %H:%M:%S}', 'UTC')"
    if isinstance(value, date):
        return f"toDate('{value.isoformat()}')"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise InputError(f"cannot write {type(value).__name__} as a SQL literal", where="warehouse key")


def convert_json_value(ch_type: str, value: Any) -> Any:
    """A value from ClickHouse JSON output (``date_time_output_format='iso'``) as the Python value of its type."""
    if value is None:
        return None
    base = unwrap_type(ch_type)
    if base.startswith("DateTime") and isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC)
    if base in {"Date", "Date32"}:
        return date.fromisoformat(value)
    if base.startswith(("UInt", "Int")) and isinstance(value, str):
        return int(value)
    if base.startswith(("Float", "Decimal")):
        return float(value)
    return value


def normalize_value(value: Any) -> Any:
    """Datetimes from a driver as UTC-aware datetimes (naive ones are UTC already); anything else unchanged."""
    if isinstance(value, datetime):
        return as_utc(value)
    return value


class ClickHouseWarehouseBase(ABC):
    """The ``Warehouse`` protocol over ClickHouse SQL; subclasses supply the three primitives."""

    def __init__(self, *, schema: WarehouseSchema | None, database: str, ensure_schema: bool) -> None:
        self.schema = schema if schema is not None else WAREHOUSE_SCHEMA
        self.database = check_identifier(database, where="warehouse.database")
        self._ensure_schema = ensure_schema

    # -- backend primitives -------------------------------------------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str) -> None:
        """Run a statement that returns nothing; raise :func:`clickhouse_error` on failure."""

    @abstractmethod
    def _select(self, sql: str) -> list[dict[str, Any]]:
        """Run a query; rows as dicts of Python values (UTC-aware datetimes)."""

    @abstractmethod
    def _insert_values(self, spec: TableSpec, values: Sequence[tuple[Any, ...]]) -> None:
        """Insert validated rows (tuples in ``spec.columns`` order) in one statement."""

    @abstractmethod
    def close(self) -> None:
        """Release the session / connection."""

    # -- Warehouse protocol -------------------------------------------------------------------------------------
    def create_schema(self) -> None:
        """Create the database, tables and views (idempotent; views are replaced by their current SQL)."""
        for statement in create_statements(self.schema, self.database):
            self._execute(statement)

    def tables(self) -> list[str]:
        """Names of the tables and views in the warehouse's database, sorted."""
        try:
            rows = self._select(f"SELECT name FROM system.tables WHERE database = {sql_literal(self.database)}")
        except NotFoundError:  # the database itself does not exist yet
            return []
        return sorted(str(r["name"]) for r in rows)

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Append ``rows`` to ``table``: all of them or none (every row is validated first)."""
        spec = self.schema.table(table)
        values = spec.validate_rows(rows)
        if values:
            self._insert_values(spec, values)
        return len(values)

    def replace(self, table: str, rows: Sequence[Mapping[str, Any]], *, key: Mapping[str, Any]) -> int:
        """Make ``rows`` the only rows of ``table`` matching ``key`` (delete-by-key, then one insert).

        Every row must carry the key's values; ``rows=[]`` just deletes. Returns the number of rows inserted.
        """
        spec = self.schema.table(table)
        condition = self._key_condition(spec, key)
        values = spec.validate_rows(rows)
        positions = {name: spec.column_names.index(name) for name in key}
        normalized_key = {name: check_value(spec.column(name).type, key[name]) for name in key}
        for i, row_values in enumerate(values):
            for name, pos in positions.items():
                if row_values[pos] != normalized_key[name]:
                    raise InputError(
                        f"value {row_values[pos]!r} differs from the replace key {normalized_key[name]!r}",
                        where=f"{table}[row {i}].{name}",
                    )
        self._execute(f"DELETE FROM {self.database}.{table} WHERE {condition}")
        if values:
            self._insert_values(spec, values)
        return len(values)

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run ``sql`` in the warehouse's database; rows as dicts (column name → Python value)."""
        if not isinstance(sql, str) or not sql.strip():
            raise InputError("empty SQL", where="warehouse query")
        return self._select(sql)

    # -- helpers ------------------------------------------------------------------------------------------------
    def _key_condition(self, spec: TableSpec, key: Mapping[str, Any]) -> str:
        if not isinstance(key, Mapping) or not key:
            raise InputError("replace needs a non-empty key, e.g. {'run_id': ...}", where=f"{spec.name} key")
        parts = []
        for name, value in key.items():
            col = spec.column(name)
            try:
                normalized = check_value(col.type, value)
            except ValueError as exc:
                raise InputError(str(exc), where=f"{spec.name} key.{name}") from None
            parts.append(f"{name} = {sql_literal(normalized)}" if normalized is not None else f"isNull({name})")
        return " AND ".join(parts)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
