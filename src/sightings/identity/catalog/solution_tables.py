"""``SolutionTables``: the base of a solution's own SQL tables kept beside the catalog (wildlife, pets, ...).

A solution declares its SQLAlchemy models with its own version table and Alembic migrations folder; subclassing
gives it the database opening (SQLite file or server URL, our error mapping), the migration on open, transactions
and the revision it is at::

    class PetsStore(SolutionTables):
        migrations_dir = Path(__file__).parent / "migrations"
        version_table = "pets_alembic_version"
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import ClassVar

from sqlalchemy.orm import Session, sessionmaker

from sightings.identity.catalog.connect import database_errors, open_database

__all__ = ["SolutionTables"]


class SolutionTables:
    """Open (``url`` for a server, ``path`` for a SQLite file, default the catalog file) and migrate to head."""

    migrations_dir: ClassVar[Path]
    version_table: ClassVar[str]

    def __init__(self, url: str | None = None, *, path: str | os.PathLike[str] | None = None) -> None:
        from sightings.identity.catalog.migrate import upgrade_solution_tables

        database = open_database(url, path)
        self.where = database.where
        self._engine = database.engine
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        try:
            with database_errors(self.where), self._engine.begin() as connection:
                upgrade_solution_tables(connection, self.migrations_dir)
        except BaseException:
            self._engine.dispose()
            raise

    def close(self) -> None:
        """Release the connections."""
        self._engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with database_errors(self.where), self._sessions() as session, session.begin():
            yield session

    def transaction(self) -> AbstractContextManager[Session]:
        """A session in one transaction (committed on success; errors mapped to ours): for retention and repair."""
        return self._transaction()

    def revision(self) -> str | None:
        """The migration revision the tables are at (``None`` before the first)."""
        from sqlalchemy import text

        with self._engine.connect() as connection:
            return connection.execute(text(f"SELECT version_num FROM {self.version_table}")).scalar()
