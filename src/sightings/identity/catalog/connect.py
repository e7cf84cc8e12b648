"""Opening a catalog database: URL or path → engine, reachability and "is this ours?" checks, error mapping.

Every database failure leaves here as one of our errors, on one line, naming the database (passwords hidden):
a file that is not SQLite → IntegrityError; a server that does not answer → BackendUnavailableError; a missing
driver → BackendUnavailableError with an install hint; a malformed or unsupported URL → ConfigError.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from sightings.core.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    InputError,
    IntegrityError,
    SightingsError,
)
from sightings.core.sqlite_wal import enable_wal

__all__ = ["CATALOG_FILE", "CatalogDatabase", "database_errors", "default_catalog_path", "one_line", "open_database"]

CATALOG_FILE = "catalog.sqlite"
CATALOG_TABLES = frozenset({"identities", "sightings"})


def default_catalog_path() -> Path:
    """``<data_dir>/catalog.sqlite`` (``data_dir`` from the settings)."""
    from sightings.core.config import get_settings

    return get_settings().data_dir / CATALOG_FILE


def one_line(error: BaseException) -> str:
    """The driver's message of ``error`` on one line (SQLAlchemy's wrapper text and SQL dropped)."""
    return " ".join(str(getattr(error, "orig", None) or error).split())[:300]


@dataclass(frozen=True, slots=True)
class CatalogDatabase:
    """An opened (reachable, ours or empty) database: its engine and how to name it in messages."""

    engine: Engine
    where: str  # the URL with the password hidden
    in_memory: bool  # a SQLite memory database: one shared connection


def _is_sqlite_file(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


def _sqlite_file_url(file: Path) -> URL:
    if file.is_dir():
        raise InputError("is a directory; the catalog is a SQLite file", where=file)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the catalog's folder: {err.strerror}", where=file.parent) from None
    return URL.create("sqlite", database=str(file))


def resolve_url(url: str | None, path: str | os.PathLike[str] | None) -> URL:
    """The database URL for ``url`` or ``path`` (neither: the default SQLite file in the data dir)."""
    if url is not None and path is not None:
        raise ConfigError("give a url or a path, not both", where="catalog")
    if url is None:
        return _sqlite_file_url(Path(path) if path is not None else default_catalog_path())
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise ConfigError(f"not a database URL: {one_line(err)}", where="catalog url") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        hint = "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        raise ConfigError(f"unsupported database {backend!r}", where="catalog url", hint=hint)
    if _is_sqlite_file(parsed) and parsed.database is not None:
        return _sqlite_file_url(Path(parsed.database))
    return parsed


#: crash safety and concurrent readers: write-ahead log, fsync at checkpoints, wait (not fail) on a busy file
SQLITE_PRAGMAS = ("PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=10000", "PRAGMA synchronous=NORMAL")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    enable_wal(cursor)  # a file database stays in WAL; a memory one answers "memory"
    cursor.close()


def _sqlite_error(err: exc.DBAPIError, where: str) -> SightingsError:
    text = one_line(err)
    if "not a database" in text or "malformed" in text:
        return IntegrityError(f"not a readable SQLite catalog ({text})", where=where)
    return BackendError(f"cannot open the catalog: {text}", where=where)


def open_database(
    url: str | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    connect_timeout_s: int = 5,
    echo: bool = False,
) -> CatalogDatabase:
    """Make the engine and connect once, so a dead server, a non-SQLite file or another program's tables fail now."""
    resolved = resolve_url(url, path)
    where = resolved.render_as_string(hide_password=True)
    backend = resolved.get_backend_name()
    in_memory = backend == "sqlite" and not _is_sqlite_file(resolved)
    kwargs: dict[str, Any] = {"echo": echo}
    if backend == "postgresql":
        kwargs.update(connect_args={"connect_timeout": connect_timeout_s}, pool_pre_ping=True)
    elif in_memory:
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    try:
        engine = sa.create_engine(resolved, **kwargs)
    except (ImportError, exc.NoSuchModuleError) as err:
        hint = "pip install 'sightings[postgres]'"
        reason = f"no driver for {resolved.drivername}: {one_line(err)}"
        raise BackendUnavailableError(reason, where=where, hint=hint) from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect() as connection:
            names = set(sa.inspect(connection).get_table_names())
    except exc.OperationalError as err:
        engine.dispose()
        if backend == "postgresql":
            raise BackendUnavailableError(f"cannot connect: {one_line(err)}", where=where) from None
        raise _sqlite_error(err, where) from None
    except exc.DatabaseError as err:
        engine.dispose()
        raise _sqlite_error(err, where) from None
    if "alembic_version" not in names and names & CATALOG_TABLES:
        engine.dispose()
        shown = ", ".join(sorted(names)[:5])
        raise IntegrityError(f"has tables ({shown}) but no catalog revision: not a sightings catalog", where=where)
    return CatalogDatabase(engine, where, in_memory)


@contextmanager
def database_errors(where: str) -> Iterator[None]:
    """Turn SQLAlchemy errors raised inside into ours (one line, naming the database)."""
    try:
        yield
    except exc.IntegrityError as err:
        raise InputError(f"rejected by the database: {one_line(err)}", where=where) from None
    except exc.DataError as err:
        raise InputError(f"bad value: {one_line(err)}", where=where) from None
    except exc.OperationalError as err:
        raise BackendUnavailableError(f"database unavailable: {one_line(err)}", where=where) from None
    except exc.DatabaseError as err:
        raise IntegrityError(f"database error: {one_line(err)}", where=where) from None
