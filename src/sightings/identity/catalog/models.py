"""The catalog schema as SQLAlchemy 2 typed ORM models. The Alembic revisions in ``migrations/`` must agree with it
(a test runs autogenerate's ``compare_metadata`` and expects no difference).

    identities  id PK · label · species · owner · source · created_at (UTC) · attributes JSON
    sightings   embedding_id PK · media_uri · frame · x1 y1 x2 y2 (crop box, pixels) ·
                identity_id FK → identities.id ON DELETE SET NULL · owner · source · t (UTC) ·
                lat lon zone · species · side · quality · embedder · dim · attributes JSON
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Float, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from sightings.core.errors import InputError
from sightings.core.types import as_utc

__all__ = ["NAMING_CONVENTION", "Base", "IdentityRow", "SightingRow", "UtcDateTime"]

# Named constraints, so batch migrations on SQLite (copy-and-move tables) can find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as naive UTC text (which
    sorts chronologically) and comes back with ``tzinfo=UTC``. A naive datetime is refused with an InputError.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InputError(f"must be a datetime, got {type(value).__name__}", where="catalog time")
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError("must be timezone-aware (UTC); got a naive datetime", where="catalog time")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)


class Base(DeclarativeBase):
    """Declarative base with the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdentityRow(Base):
    """One individual."""

    __tablename__ = "identities"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    label: Mapped[str] = mapped_column(String(256))
    species: Mapped[str | None] = mapped_column(String(64), index=True)
    owner: Mapped[str | None] = mapped_column(String(128), index=True)
    source: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    sightings: Mapped[list[SightingRow]] = relationship(back_populates="identity", passive_deletes=True)


class SightingRow(Base):
    """One embedding of one crop of one media item."""

    __tablename__ = "sightings"

    embedding_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    media_uri: Mapped[str | None] = mapped_column(Text)
    frame: Mapped[int | None] = mapped_column(Integer)
    x1: Mapped[float | None] = mapped_column(Float)
    y1: Mapped[float | None] = mapped_column(Float)
    x2: Mapped[float | None] = mapped_column(Float)
    y2: Mapped[float | None] = mapped_column(Float)
    identity_id: Mapped[str | None] = mapped_column(
        String(128), ForeignKey("identities.id", ondelete="SET NULL"), index=True
    )
    owner: Mapped[str | None] = mapped_column(String(128), index=True)
    source: Mapped[str | None] = mapped_column(String(256), index=True)
    t: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    zone: Mapped[str | None] = mapped_column(String(128), index=True)
    species: Mapped[str | None] = mapped_column(String(64), index=True)
    side: Mapped[str | None] = mapped_column(String(32))
    quality: Mapped[float | None] = mapped_column(Float)
    embedder: Mapped[str | None] = mapped_column(String(128))
    dim: Mapped[int | None] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    identity: Mapped[IdentityRow | None] = relationship(back_populates="sightings")
