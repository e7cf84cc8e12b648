"""``SqlCatalog``: the metadata store of the identity engine — SQLite file by default, PostgreSQL by URL.

Opening a catalog upgrades its schema to the newest Alembic revision. Every write is one transaction: a batch
that fails part-way leaves nothing behind. Deleting an identity unassigns its sightings (``identity_id`` → NULL)
unless ``with_sightings=True``; deleting sightings never touches identities. Vectors live in the gallery under
the same ``embedding_id``: delete there too (the delete methods return the ids they removed).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc, func, select
from sqlalchemy.orm import Session, sessionmaker

from sightings.core.errors import InputError, NotFoundError
from sightings.core.types import Box
from sightings.identity.catalog import migrate
from sightings.identity.catalog.connect import database_errors, default_catalog_path, open_database
from sightings.identity.catalog.convert import (
    COLUMN_OF_KEY,
    check_lengths,
    identity_from_row,
    mapping_from_sighting,
    sighting_from_mapping,
    sighting_from_row,
    sighting_values,
)
from sightings.identity.catalog.models import IdentityRow, SightingRow
from sightings.identity.catalog.records import IdentityRecord, SightingRecord, check_attributes, to_utc

__all__ = ["SqlCatalog", "default_catalog_path"]

_FLUSH_EVERY = 500  # sightings sent to the database per flush inside one transaction (bounded memory)
_IN_CHUNK = 5000  # ids per SQL IN (...) list, under SQLite's and PostgreSQL's bound-parameter limits


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


class SqlCatalog:
    """Identities and sightings in SQL. ``SqlCatalog()`` opens ``<data_dir>/catalog.sqlite``;
    ``SqlCatalog(path=...)`` another SQLite file; ``SqlCatalog("postgresql+psycopg://user@host/db")`` a server.

    Implements the ``MetadataStore`` protocol (``put``/``get``/``find`` on sightings keyed by ``embedding_id``)
    and a typed API (``add_sighting``, ``assign_identity``, ``sightings_of``, ``find_sightings``...).
    Opening upgrades the schema to the newest revision (``revision`` says which).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        connect_timeout_s: int = 5,
        echo: bool = False,
    ) -> None:
        database = open_database(url, path, connect_timeout_s=connect_timeout_s, echo=echo)
        self.where = database.where
        self._engine = database.engine
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        try:
            with database_errors(self.where):
                if database.in_memory:  # a memory database lives on its one shared connection: migrate on it
                    self.revision = self._upgrade_in_place()
                else:
                    self.revision = migrate.upgrade(self._engine, where=self.where)
        except BaseException:
            self._engine.dispose()
            raise

    def _upgrade_in_place(self) -> str:
        from alembic import command

        with migrate.MIGRATION_LOCK, self._engine.begin() as connection:
            command.upgrade(migrate.alembic_config(connection), "head")
            return migrate.current_revision(connection) or ""

    def close(self) -> None:
        """Release connections (the catalog cannot be used afterwards)."""
        self._engine.dispose()

    def __enter__(self) -> SqlCatalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlCatalog({self.where!r}, revision={self.revision!r})"

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One session in one transaction (committed at the end, rolled back on any error)."""
        with database_errors(self.where), self._sessions() as session, session.begin():
            yield session

    # ------------------------------------------------------------------ MetadataStore protocol

    def put(self, record_id: str, record: Mapping[str, Any]) -> None:
        """Insert or replace the sighting ``record_id``; an identity named in ``record["identity"]`` is created
        if missing (label = its id)."""
        rec = sighting_from_mapping(record_id, record)
        with self._transaction() as session:
            if rec.identity_id is not None and session.get(IdentityRow, rec.identity_id) is None:
                self._add_identity_row(session, IdentityRecord(rec.identity_id, rec.identity_id))
            row = session.get(SightingRow, record_id)
            values = sighting_values(rec)
            if row is None:
                row = SightingRow(**values)
                session.add(row)
            else:
                for key, value in values.items():
                    setattr(row, key, value)
            check_lengths(row)

    def get(self, record_id: str) -> Mapping[str, Any]:
        """The record ``record_id`` as a flat mapping (see ``put``); NotFoundError when absent."""
        return mapping_from_sighting(self.get_sighting(record_id))

    def find(self, **equals: Any) -> list[Mapping[str, Any]]:
        """Records whose fields equal all of ``equals`` (column keys in SQL, attribute keys checked on the JSON)."""
        query = select(SightingRow)
        loose: dict[str, Any] = {}
        for key, value in equals.items():
            column = COLUMN_OF_KEY.get(key)
            if column is None:
                loose[key] = value
                continue
            wanted = to_utc(value, "find.t") if key == "t" and value is not None else value
            attr = getattr(SightingRow, column)
            query = query.where(attr.is_(None) if wanted is None else attr == wanted)
        if isinstance(loose.get("box"), Box):
            loose["box"] = list(loose["box"].xyxy)
        for key, value in loose.items():
            if isinstance(value, str):  # narrow in SQL; the exact check below covers every type
                query = query.where(SightingRow.attributes[key].as_string() == value)
        query = query.order_by(SightingRow.embedding_id)
        with self._transaction() as session:
            found = [mapping_from_sighting(sighting_from_row(r)) for r in session.scalars(query)]
        return [m for m in found if all(m.get(k) == v for k, v in loose.items())]

    # ------------------------------------------------------------------ identities

    @staticmethod
    def _add_identity_row(session: Session, rec: IdentityRecord) -> IdentityRow:
        row = IdentityRow(
            id=rec.id,
            label=rec.label,
            species=rec.species,
            owner=rec.owner,
            source=rec.source,
            created_at=rec.created_at or datetime.now(UTC),
            attributes=dict(rec.attributes),
        )
        check_lengths(row)
        session.add(row)
        return row

    def add_identity(
        self,
        label: str,
        *,
        identity_id: str | None = None,
        species: str | None = None,
        owner: str | None = None,
        source: str | None = None,
        created_at: datetime | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> IdentityRecord:
        """Create an identity (id: ``identity_id`` or a new random one); InputError if the id is taken."""
        rec = IdentityRecord(
            identity_id or uuid.uuid4().hex,
            label,
            species=species,
            owner=owner,
            source=source,
            created_at=created_at or datetime.now(UTC),
            attributes=attributes or {},
        )
        with self._transaction() as session:
            if session.get(IdentityRow, rec.id) is not None:
                raise InputError("identity id already in the catalog", where=f"identity {rec.id}")
            return identity_from_row(self._add_identity_row(session, rec))

    def get_identity(self, identity_id: str) -> IdentityRecord:
        with self._transaction() as session:
            row = session.get(IdentityRow, identity_id)
            if row is None:
                raise NotFoundError("no such identity in the catalog", where=f"identity {identity_id}")
            return identity_from_row(row)

    def list_identities(
        self, *, species: str | None = None, owner: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[IdentityRecord]:
        """Identities, oldest first, optionally only of one species / owner."""
        query = select(IdentityRow)
        if species is not None:
            query = query.where(IdentityRow.species == species)
        if owner is not None:
            query = query.where(IdentityRow.owner == owner)
        query = query.order_by(IdentityRow.created_at, IdentityRow.id).offset(offset).limit(limit)
        with self._transaction() as session:
            return [identity_from_row(r) for r in session.scalars(query)]

    def update_identity(
        self, identity_id: str, *, label: str | None = None, attributes: Mapping[str, Any] | None = None
    ) -> IdentityRecord:
        """Rename an identity and/or replace its attributes."""
        with self._transaction() as session:
            row = session.get(IdentityRow, identity_id)
            if row is None:
                raise NotFoundError("no such identity in the catalog", where=f"identity {identity_id}")
            if label is not None:
                row.label = IdentityRecord(identity_id, label).label
            if attributes is not None:
                row.attributes = check_attributes(attributes, f"identity {identity_id}.attributes")
            check_lengths(row)
            return identity_from_row(row)

    def delete_identity(self, identity_id: str, *, with_sightings: bool = False) -> list[str]:
        """Delete an identity. Its sightings are unassigned (kept), or deleted with ``with_sightings=True``;
        returns the embedding ids deleted (to delete from the gallery too)."""
        with self._transaction() as session:
            row = session.get(IdentityRow, identity_id)
            if row is None:
                raise NotFoundError("no such identity in the catalog", where=f"identity {identity_id}")
            ids = list(session.scalars(select(SightingRow.embedding_id).where(SightingRow.identity_id == identity_id)))
            owned = SightingRow.identity_id == identity_id
            if with_sightings:
                session.execute(sa.delete(SightingRow).where(owned))
            else:
                session.execute(sa.update(SightingRow).where(owned).values(identity_id=None))
            session.delete(row)
        return sorted(ids) if with_sightings else []

    def count_identities(self) -> int:
        with self._transaction() as session:
            return int(session.scalar(select(func.count()).select_from(IdentityRow)) or 0)

    # ------------------------------------------------------------------ sightings

    def add_sighting(self, record: SightingRecord) -> SightingRecord:
        """Add one sighting (InputError if its embedding_id exists; NotFoundError if its identity does not)."""
        self.add_sightings([record])
        return record

    def add_sightings(self, records: Sequence[SightingRecord]) -> int:
        """Add sightings in one transaction: all of them, or none if any is refused."""
        records = list(records)
        for rec in records:
            if not isinstance(rec, SightingRecord):
                raise InputError(f"expected SightingRecord, got {type(rec).__name__}", where="add_sightings")
        ids = [r.embedding_id for r in records]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise InputError("embedding_id given twice in one batch", where=f"sighting {dup}")
        with database_errors(self.where):
            try:
                with self._sessions() as session, session.begin():
                    self._require_identities(session, {r.identity_id for r in records if r.identity_id is not None})
                    for start in range(0, len(records), _FLUSH_EVERY):  # bounded memory for large batches
                        rows = [SightingRow(**sighting_values(rec)) for rec in records[start : start + _FLUSH_EVERY]]
                        for row in rows:
                            check_lengths(row)
                        session.add_all(rows)
                        session.flush()
                        session.expunge_all()
            except exc.IntegrityError:
                taken = self._existing(ids)
                if taken:
                    raise InputError("embedding_id already in the catalog", where=f"sighting {taken[0]}") from None
                raise
        return len(records)

    def _existing(self, ids: Sequence[str]) -> list[str]:
        with self._transaction() as session:
            return sorted(self._found(session, ids))

    @staticmethod
    def _found(session: Session, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are sightings in the catalog."""
        query = select(SightingRow.embedding_id)
        return {i for chunk in _chunks(ids) for i in session.scalars(query.where(SightingRow.embedding_id.in_(chunk)))}

    @staticmethod
    def _require_identities(session: Session, identity_ids: set[str]) -> None:
        if not identity_ids:
            return
        known = set(session.scalars(select(IdentityRow.id).where(IdentityRow.id.in_(identity_ids))))
        missing = sorted(identity_ids - known)
        if missing:
            raise NotFoundError("no such identity in the catalog", where=f"identity {missing[0]}")

    def get_sighting(self, embedding_id: str) -> SightingRecord:
        with self._transaction() as session:
            row = session.get(SightingRow, embedding_id)
            if row is None:
                raise NotFoundError("no such sighting in the catalog", where=f"sighting {embedding_id}")
            return sighting_from_row(row)

    def assign_identity(self, embedding_ids: str | Sequence[str], identity_id: str | None) -> int:
        """Assign sightings to ``identity_id`` (``None`` unassigns them); all or nothing. Returns how many."""
        ids = [embedding_ids] if isinstance(embedding_ids, str) else list(embedding_ids)
        with self._transaction() as session:
            if identity_id is not None:
                self._require_identities(session, {identity_id})
            found = self._found(session, ids)
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFoundError("no such sighting in the catalog", where=f"sighting {missing[0]}")
            for chunk in _chunks(ids):
                rows = SightingRow.embedding_id.in_(chunk)
                session.execute(sa.update(SightingRow).where(rows).values(identity_id=identity_id))
        return len(found)

    def sightings_of(self, identity_id: str) -> list[SightingRecord]:
        """The sightings assigned to an identity, oldest first (NotFoundError for an unknown identity)."""
        self.get_identity(identity_id)
        return self.find_sightings(identity_id=identity_id)

    def find_sightings(
        self,
        *,
        identity_id: str | None = None,
        unassigned: bool = False,
        owner: str | None = None,
        source: str | None = None,
        species: str | None = None,
        zone: str | None = None,
        side: str | None = None,
        embedder: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[SightingRecord]:
        """Sightings matching every filter given, oldest first (no time last). ``since <= t < until`` (UTC-aware)."""
        if identity_id is not None and unassigned:
            raise InputError("give identity_id or unassigned=True, not both", where="find_sightings")
        query = select(SightingRow)
        equals = {"identity_id": identity_id, "owner": owner, "source": source, "species": species}
        equals |= {"zone": zone, "side": side, "embedder": embedder}
        for column, value in equals.items():
            if value is not None:
                query = query.where(getattr(SightingRow, column) == value)
        if unassigned:
            query = query.where(SightingRow.identity_id.is_(None))
        if since is not None:
            query = query.where(SightingRow.t >= to_utc(since, "find_sightings.since"))
        if until is not None:
            query = query.where(SightingRow.t < to_utc(until, "find_sightings.until"))
        query = query.order_by(SightingRow.t.asc().nulls_last(), SightingRow.embedding_id).limit(limit)
        with self._transaction() as session:
            return [sighting_from_row(r) for r in session.scalars(query)]

    def delete_sightings(self, embedding_ids: Sequence[str]) -> list[str]:
        """Delete sightings (unknown ids are ignored); returns the ids deleted."""
        ids = list(embedding_ids)
        with self._transaction() as session:
            found = sorted(self._found(session, ids))
            for chunk in _chunks(found):
                session.execute(sa.delete(SightingRow).where(SightingRow.embedding_id.in_(chunk)))
        return found

    def count_sightings(self) -> int:
        with self._transaction() as session:
            return int(session.scalar(select(func.count()).select_from(SightingRow)) or 0)
