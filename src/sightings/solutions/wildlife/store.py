"""``WildlifeStore``: species, every prediction (the sink) and the review audit log, in SQL.

It lives in the catalog's database (SQLite file by default, PostgreSQL by URL) and upgrades its own tables with
Alembic on open. Every write is one transaction: a prediction is stored whole or not at all, a review row is
written only when everything it decided succeeded.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sightings.core.errors import InputError, NotFoundError
from sightings.identity.catalog.solution_tables import SolutionTables
from sightings.solutions.wildlife.store_models import (
    VERSION_TABLE,
    PredictionRow,
    ReviewRow,
    SpeciesRow,
)

__all__ = ["PredictionRecord", "ReviewRecord", "SpeciesRecord", "WildlifeStore"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
STATUSES = ("accepted", "unknown", "rejected")
DECISIONS = ("confirm", "correct", "reject")


@dataclass(frozen=True, slots=True)
class SpeciesRecord:
    name: str
    scientific_name: str | None = None
    vernacular_name: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """What one predict call answered (``status``: accepted | unknown | rejected)."""

    id: str
    species: str
    status: str
    created_at: datetime
    reason: str | None = None
    message: str | None = None
    individual_id: str | None = None
    best_candidate: str | None = None
    confidence: float | None = None
    matches: Sequence[Mapping[str, Any]] = ()
    gate: Sequence[Mapping[str, Any]] = ()
    media_uri: str | None = None
    filename: str | None = None
    event_time: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    projection: Sequence[float] | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InputError(f"must be one of {', '.join(STATUSES)}, got {self.status!r}", where="prediction.status")


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """One reviewer decision (audit log row)."""

    prediction_id: str
    decision: str
    agreed: bool
    individual_id: str | None = None
    predicted_id: str | None = None
    score: float | None = None
    reviewer: str | None = None
    note: str | None = None
    embedding_id: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise InputError(f"must be one of {', '.join(DECISIONS)}, got {self.decision!r}", where="review.decision")


def new_prediction_id() -> str:
    return uuid.uuid4().hex


def _prediction(row: PredictionRow) -> PredictionRecord:
    return PredictionRecord(
        id=row.id,
        species=row.species,
        status=row.status,
        created_at=row.created_at,
        reason=row.reason,
        message=row.message,
        individual_id=row.individual_id,
        best_candidate=row.best_candidate,
        confidence=row.confidence,
        matches=list(row.matches or []),
        gate=list(row.gate or []),
        media_uri=row.media_uri,
        filename=row.filename,
        event_time=row.event_time,
        lat=row.lat,
        lon=row.lon,
        projection=None if row.projection is None else [float(v) for v in row.projection],
        source=row.source,
    )


def _review(row: ReviewRow) -> ReviewRecord:
    return ReviewRecord(
        prediction_id=row.prediction_id,
        decision=row.decision,
        agreed=row.agreed,
        individual_id=row.individual_id,
        predicted_id=row.predicted_id,
        score=row.score,
        reviewer=row.reviewer,
        note=row.note,
        embedding_id=row.embedding_id,
        created_at=row.created_at,
        id=row.id,
    )


class WildlifeStore(SolutionTables):
    """Species, predictions and reviews. ``WildlifeStore(path=...)`` a SQLite file; ``WildlifeStore(url)`` a server."""

    migrations_dir = MIGRATIONS_DIR
    version_table = VERSION_TABLE

    # ------------------------------------------------------------------ species
    def put_species(self, record: SpeciesRecord) -> SpeciesRecord:
        """Add a species, or update its names (keeping its creation time)."""
        with self._transaction() as session:
            row = session.get(SpeciesRow, record.name)
            if row is None:
                row = SpeciesRow(name=record.name, created_at=record.created_at or datetime.now(UTC))
                session.add(row)
            if record.scientific_name is not None:
                row.scientific_name = record.scientific_name
            if record.vernacular_name is not None:
                row.vernacular_name = record.vernacular_name
            return SpeciesRecord(row.name, row.scientific_name, row.vernacular_name, row.created_at)

    def get_species(self, name: str) -> SpeciesRecord:
        with self._transaction() as session:
            row = session.get(SpeciesRow, name)
            if row is None:
                raise NotFoundError("no such species; enrol individuals of it first", where=f"species {name}")
            return SpeciesRecord(row.name, row.scientific_name, row.vernacular_name, row.created_at)

    def list_species(self) -> list[SpeciesRecord]:
        with self._transaction() as session:
            rows = session.scalars(select(SpeciesRow).order_by(SpeciesRow.name))
            return [SpeciesRecord(r.name, r.scientific_name, r.vernacular_name, r.created_at) for r in rows]

    # ------------------------------------------------------------------ predictions
    def add_predictions(self, records: Sequence[PredictionRecord]) -> int:
        """Store predictions in one transaction (all or none)."""
        with self._transaction() as session:
            for rec in records:
                session.add(
                    PredictionRow(
                        id=rec.id,
                        created_at=rec.created_at,
                        species=rec.species,
                        status=rec.status,
                        reason=rec.reason,
                        message=rec.message,
                        individual_id=rec.individual_id,
                        best_candidate=rec.best_candidate,
                        confidence=rec.confidence,
                        matches=[dict(m) for m in rec.matches],
                        gate=[dict(g) for g in rec.gate],
                        media_uri=rec.media_uri,
                        filename=rec.filename,
                        event_time=rec.event_time,
                        lat=rec.lat,
                        lon=rec.lon,
                        projection=None if rec.projection is None else [float(v) for v in rec.projection],
                        source=rec.source,
                    )
                )
        return len(records)

    def get_prediction(self, prediction_id: str) -> PredictionRecord:
        with self._transaction() as session:
            row = session.get(PredictionRow, prediction_id)
            if row is None:
                raise NotFoundError("no such prediction", where=f"prediction {prediction_id}")
            return _prediction(row)

    def list_predictions(
        self,
        *,
        species: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[PredictionRecord]:
        query = select(PredictionRow)
        if species is not None:
            query = query.where(PredictionRow.species == species)
        if status is not None:
            query = query.where(PredictionRow.status == status)
        if since is not None:
            query = query.where(PredictionRow.created_at >= since)
        order = PredictionRow.created_at.desc() if newest_first else PredictionRow.created_at.asc()
        query = query.order_by(order, PredictionRow.id).limit(limit)
        with self._transaction() as session:
            return [_prediction(r) for r in session.scalars(query)]

    def count_predictions(self) -> int:
        with self._transaction() as session:
            return int(session.scalar(select(func.count()).select_from(PredictionRow)) or 0)

    # ------------------------------------------------------------------ reviews (audit log)
    def add_review(self, record: ReviewRecord) -> ReviewRecord:
        with self._transaction() as session:
            if session.get(PredictionRow, record.prediction_id) is None:
                raise NotFoundError("no such prediction", where=f"prediction {record.prediction_id}")
            row = ReviewRow(
                prediction_id=record.prediction_id,
                created_at=record.created_at,
                decision=record.decision,
                individual_id=record.individual_id,
                predicted_id=record.predicted_id,
                agreed=record.agreed,
                score=record.score,
                reviewer=record.reviewer,
                note=record.note,
                embedding_id=record.embedding_id,
            )
            session.add(row)
            session.flush()
            return _review(row)

    def reviews(self, *, prediction_id: str | None = None, agreed: bool | None = None) -> list[ReviewRecord]:
        query = select(ReviewRow)
        if prediction_id is not None:
            query = query.where(ReviewRow.prediction_id == prediction_id)
        if agreed is not None:
            query = query.where(ReviewRow.agreed == agreed)
        with self._transaction() as session:
            return [_review(r) for r in session.scalars(query.order_by(ReviewRow.id))]

    def latest_reviews(self) -> dict[str, ReviewRecord]:
        """The last decision per prediction id."""
        return {r.prediction_id: r for r in self.reviews()}
