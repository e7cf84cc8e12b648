"""Tables of the wildlife service, in the catalog's database beside ``identities`` and ``sightings``.

They have Alembic revisions of their own (``solutions/wildlife/migrations``, version table
``wildlife_alembic_version``), so the identity engine's catalog schema stays the engine's, and a test checks that
the revisions agree with these models.

    wildlife_species      name PK · scientific_name · vernacular_name · created_at
    wildlife_predictions  id PK · created_at · species · status (accepted|unknown|rejected) · reason · message ·
                          individual_id · best_candidate · confidence · matches JSON · gate JSON · media_uri ·
                          filename · event_time · lat · lon · projection JSON (drift) · source
    wildlife_reviews      id PK · prediction_id FK · created_at · decision (confirm|correct|reject) ·
                          individual_id · predicted_id · agreed · score · reviewer · note · embedding_id
                          (the audit log: one row per decision, never updated)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sightings.identity.catalog.models import NAMING_CONVENTION, UtcDateTime

__all__ = ["PredictionRow", "ReviewRow", "SpeciesRow", "WildlifeBase"]

VERSION_TABLE = "wildlife_alembic_version"


class WildlifeBase(DeclarativeBase):
    """Declarative base of the wildlife tables (a metadata of their own, for their own migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SpeciesRow(WildlifeBase):
    """A species with a gallery of its own."""

    __tablename__ = "wildlife_species"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    scientific_name: Mapped[str | None] = mapped_column(String(256))
    vernacular_name: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PredictionRow(WildlifeBase):
    """One photo sent to predict, and what the service answered."""

    __tablename__ = "wildlife_predictions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    species: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    individual_id: Mapped[str | None] = mapped_column(String(128), index=True)
    best_candidate: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float | None] = mapped_column(Float)
    matches: Mapped[list[Any]] = mapped_column(JSON, default=list)
    gate: Mapped[list[Any]] = mapped_column(JSON, default=list)
    media_uri: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(512))
    event_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    projection: Mapped[list[float] | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(64))


class ReviewRow(WildlifeBase):
    """One decision of a reviewer about a prediction (append-only audit log)."""

    __tablename__ = "wildlife_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prediction_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("wildlife_predictions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decision: Mapped[str] = mapped_column(String(16))
    individual_id: Mapped[str | None] = mapped_column(String(128))
    predicted_id: Mapped[str | None] = mapped_column(String(128))
    agreed: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Float)
    reviewer: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    embedding_id: Mapped[str | None] = mapped_column(String(128))
