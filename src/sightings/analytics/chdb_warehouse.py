"""ChdbWarehouse: embedded ClickHouse (chDB) in a folder on disk — the default, offline warehouse.

chDB runs one embedded server per process, bound to one data folder: warehouses opened on the same folder share
that session (reference-counted); opening a *different* folder while one is open is a clear
:class:`BackendError` (close the other first). A second *process* on the same folder is refused by an advisory
lock file (``.sightings-warehouse.lock``) before chDB is touched; a folder chDB cannot load (corrupt metadata) is
a :class:`BackendUnavailableError` naming the folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sightings.analytics.warehouse_base import ClickHouseWarehouseBase, clickhouse_error, convert_json_value
from sightings.analytics.warehouse_schema import TableSpec, WarehouseSchema
from sightings.core.errors import BackendError, BackendUnavailableError, InputError

__all__ = ["ChdbWarehouse"]

LOCK_NAME = ".sightings-warehouse.lock"
_SESSION_SETTINGS = (
    "SET date_time_output_format = 'iso'",
    "SET output_format_json_quote_64bit_integers = 0",
    "SET output_format_json_quote_denormals = 0",
)


@dataclass(slots=True)
class _OpenFolder:
    """The process's one chDB session, its lock file and how many warehouses use it."""

    path: Path
    session: Any
    lock_file: IO[str]
    users: int = 0
    guard: threading.Lock = field(default_factory=threading.Lock)


_OPEN: dict[str, _OpenFolder] = {}
_OPEN_GUARD = threading.Lock()


def _lock_folder(path: Path) -> IO[str]:
    lock_file = (path / LOCK_NAME).open("a+", encoding="utf-8")  # held open while the session lives
    try:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.seek(0)
        holder = lock_file.read().strip() or "?"
        lock_file.close()
        raise BackendUnavailableError(
            f"the chDB folder is in use by another process (pid {holder}); close it there or use another folder",
            where=path,
        ) from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(str(os.getpid()))
    lock_file.flush()
    return lock_file


def _open_folder(path: Path) -> _OpenFolder:
    with _OPEN_GUARD:
        key = str(path)
        if key in _OPEN:
            folder = _OPEN[key]
            folder.users += 1
            return folder
        if _OPEN:
            other = next(iter(_OPEN))
            raise BackendError(
                f"chDB already has {other} open in this process (one folder per process); close that warehouse first",
                where=path,
            )
        if path.exists() and not path.is_dir():
            raise InputError("the chDB warehouse path is a file, not a folder", where=path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the chDB folder: {exc.strerror or exc}", where=path) from None
        lock_file = _lock_folder(path)
        try:
            from chdb import session as chdb_session

            session = chdb_session.Session(str(path))  # type: ignore[no-untyped-call]  # chdb ships no annotations
        except ImportError:
            lock_file.close()
            raise
        except Exception as exc:  # chDB raises RuntimeError with the server's message
            lock_file.close()
            detail = " ".join(str(exc).split())[:200]
            raise BackendUnavailableError(
                f"chDB cannot open this folder: its files are corrupt or unreadable ({detail})", where=path
            ) from None
        folder = _OpenFolder(path, session, lock_file, users=1)
        _OPEN[key] = folder
        return folder


def _release_folder(folder: _OpenFolder) -> None:
    with _OPEN_GUARD:
        folder.users -= 1
        if folder.users > 0:
            return
        _OPEN.pop(str(folder.path), None)
        with contextlib.suppress(Exception):
            folder.session.close()
        folder.lock_file.close()


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


class ChdbWarehouse(ClickHouseWarehouseBase):
    """chDB warehouse in ``path`` (default ``<data_dir>/warehouse``), tables in ``database``.

    ``ensure_schema`` creates the schema's tables and views on open (idempotent). Use as a context manager or call
    :meth:`close`; the session stays open while any warehouse on the same folder is open.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        database: str = "sightings",
        schema: WarehouseSchema | None = None,
        ensure_schema: bool = True,
    ) -> None:
        super().__init__(schema=schema, database=database, ensure_schema=ensure_schema)
        if path is None:
            from sightings.core.config import load_settings

            path = load_settings().settings.data_dir / "warehouse"
        self.path = Path(path).expanduser().resolve()
        self._folder: _OpenFolder | None = _open_folder(self.path)
        try:
            for statement in _SESSION_SETTINGS:
                self._execute(statement)
            if ensure_schema:
                self.create_schema()
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._folder is not None:
            folder, self._folder = self._folder, None
            _release_folder(folder)

    def _raw(self, sql: str, fmt: str, *, use_database: bool = False) -> Any:
        if self._folder is None:
            raise BackendError("the warehouse is closed", where=self.path)
        with self._folder.guard:  # one statement at a time; USE + query stay together when folders are shared
            try:
                if use_database:
                    self._folder.session.query(f"USE {self.database}", "CSV")
                return self._folder.session.query(sql, fmt)
            except Exception as exc:
                raise clickhouse_error(str(exc), sql=sql, where=f"chdb {self.path.name}") from None

    def _execute(self, sql: str) -> None:
        self._raw(sql, "CSV")

    def _select(self, sql: str) -> list[dict[str, Any]]:
        raw = self._raw(sql, "JSONCompact", use_database=True).bytes()
        if not raw:
            return []
        payload = json.loads(raw)
        names = [m["name"] for m in payload.get("meta", [])]
        types = [m["type"] for m in payload.get("meta", [])]
        return [
            {name: convert_json_value(t, v) for name, t, v in zip(names, types, row, strict=True)}
            for row in payload.get("data", [])
        ]

    def _insert_values(self, spec: TableSpec, values: Sequence[tuple[Any, ...]]) -> None:
        names = spec.column_names
        body = "\n".join(
            json.dumps(dict(zip(names, row, strict=True)), default=_json_default, ensure_ascii=False) for row in values
        )
        self._raw(f"INSERT INTO {self.database}.{spec.name} FORMAT JSONEachRow\n{body}", "CSV")
