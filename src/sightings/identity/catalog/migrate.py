"""Alembic migrations for the catalog, run in code: opening a catalog upgrades it to ``head``.

No ``alembic.ini`` is needed: :func:`alembic_config` points Alembic at the ``migrations/`` folder shipped inside
the package and hands it an open connection. For developers, this module is also a small command line::

    python -m sightings.identity.catalog.migrate revision "add colour column"   # autogenerate from models.py
    python -m sightings.identity.catalog.migrate upgrade --url sqlite:///catalog.sqlite [--to REV]
    python -m sightings.identity.catalog.migrate current --url postgresql+psycopg://user@host/db
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from sightings.core.errors import IntegrityError

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "run_solution_migrations",
    "upgrade",
    "upgrade_solution_tables",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)
_PG_LOCK_KEY = 0x5167_4361_7461_6C67  # pg_advisory_xact_lock key for catalog migrations ("SgCatalg")
# Alembic's ``context`` is a process-wide proxy, not thread-safe: one migration at a time in a process.
MIGRATION_LOCK = threading.Lock()


def alembic_config(
    connection: Connection | None = None, url: str | None = None, *, migrations_dir: Path | None = None
) -> Config:
    """An Alembic ``Config`` for the migrations in ``migrations_dir`` (default: the catalog's), bound to
    ``connection`` (or to ``url``). Solutions with tables of their own pass their migrations folder."""
    config = Config()
    folder = MIGRATIONS_DIR if migrations_dir is None else migrations_dir  # read at call time (tests patch it)
    config.set_main_option("script_location", folder.as_posix().replace("%", "%%"))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_solution_tables(connection: Connection, migrations_dir: Path) -> None:
    """Bring a solution's own tables (its Alembic revisions in ``migrations_dir``) to head on ``connection``."""
    with MIGRATION_LOCK:
        command.upgrade(alembic_config(connection, migrations_dir=migrations_dir), "head")


def run_solution_migrations(context: Any, metadata: MetaData, *, version_table: str, table_prefix: str) -> None:
    """The body of a solution's ``migrations/env.py``: online migrations on the connection the store passed, with
    its own version table; autogenerate compares only the tables named ``<table_prefix>...`` (the catalog's and
    other solutions' tables belong to their own migrations)."""
    from sightings.identity.catalog.models import UtcDateTime

    def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
        if type_ == "type" and isinstance(obj, UtcDateTime):
            return "sa.DateTime(timezone=True)"
        return False

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "table" or bool(name and name.startswith(table_prefix) and name != version_table)

    connection = context.config.attributes.get("connection")
    if connection is None:  # pragma: no cover - the stores always pass a connection
        raise RuntimeError(f"the {table_prefix}* migrations run through their store, with a connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this version of sightings knows."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package ships revisions
        raise IntegrityError("no migration revisions found", where=MIGRATIONS_DIR)
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (``None``: never migrated, or not a catalog)."""
    heads = MigrationContext.configure(connection).get_current_heads()
    return heads[0] if heads else None


def upgrade(engine: Engine, *, where: str, to: str = "head") -> str:
    """Bring the database behind ``engine`` to revision ``to`` in one transaction; return the revision it is at.

    A database at a revision this version does not know (made by a newer sightings) is an :class:`IntegrityError`.
    SQLite migrations run on a connection of their own with foreign keys off (batch mode copies tables).
    """
    scripts = _scripts()
    # A pool-less engine of the same URL: no foreign-key pragma on SQLite, and nothing kept open afterwards.
    migration_engine = create_engine(engine.url, poolclass=NullPool)
    with MIGRATION_LOCK:
        try:
            return _upgrade(migration_engine, scripts, where, to)
        finally:
            migration_engine.dispose()


def _upgrade(migration_engine: Engine, scripts: ScriptDirectory, where: str, to: str) -> str:
    """Check the revision is known, then migrate to ``to`` (see :func:`upgrade`)."""
    with migration_engine.connect() as connection:
        current = current_revision(connection)
        connection.rollback()
        if current is not None:
            try:
                scripts.get_revision(current)
            except CommandError:
                raise IntegrityError(
                    f"catalog is at revision {current!r}, which this version of sightings does not know "
                    f"(newest known: {scripts.get_current_head()!r}); it was made by a newer version",
                    where=where,
                    hint="upgrade sightings, or open a copy made by this version",
                ) from None
        target = scripts.get_current_head() if to == "head" else to
        if current is not None and current == target:
            return current
        with connection.begin():
            if connection.dialect.name == "postgresql":  # one migrator at a time across processes
                connection.execute(text("SET LOCAL lock_timeout = '60s'"))  # a stuck migrator: fail, not hang
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
                now = current_revision(connection)
                if now is not None and now == target:
                    return now
            command.upgrade(alembic_config(connection), to)
        log.info("catalog %s upgraded from %s to %s", where, current or "empty", target)
        return current_revision(connection) or ""


def _make_revision(message: str, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = url or f"sqlite:///{Path(tmp) / 'autogenerate.sqlite'}"
        engine = create_engine(db_url, poolclass=NullPool)
        upgrade(engine, where=db_url)
        existing = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
        rev_id = f"{int(existing[-1][:4]) + 1:04d}" if existing else "0001"
        with engine.begin() as connection:
            command.revision(alembic_config(connection), message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Developer command line: ``revision MESSAGE``, ``upgrade``, ``current`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m sightings.identity.catalog.migrate")
    sub = parser.add_subparsers(dest="action", required=True)
    rev = sub.add_parser("revision", help="autogenerate a new revision from models.py")
    rev.add_argument("message")
    rev.add_argument("--url", help="database to compare against (default: a fresh SQLite at head)")
    up = sub.add_parser("upgrade", help="upgrade a database")
    up.add_argument("--url", required=True)
    up.add_argument("--to", default="head")
    cur = sub.add_parser("current", help="print a database's revision")
    cur.add_argument("--url", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.action == "revision":
        _make_revision(args.message, args.url)
    elif args.action == "upgrade":
        print(upgrade(create_engine(args.url), where=args.url, to=args.to))
    else:
        engine = create_engine(args.url)
        with engine.connect() as connection:
            print(current_revision(connection) or "(none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
