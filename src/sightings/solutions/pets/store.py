"""``PetsStore``: posts, photos, animal crops, camera sightings, matches and feedback, in SQL.

It lives in the catalog's database (SQLite file by default, PostgreSQL by URL) and upgrades its own tables with
Alembic on open (``solutions/pets/migrations``). Every write is one transaction: a post is stored with its photos
and crops whole or not at all. ``(source, source_id)`` is unique: a second writer of the same post — another
thread or another process — gets ``None`` from :meth:`add_post` and reads the stored one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exc, select
from sqlalchemy.orm import Session

from sightings.core.errors import NotFoundError
from sightings.core.types import Box
from sightings.identity.catalog.connect import database_errors
from sightings.identity.catalog.solution_tables import SolutionTables
from sightings.solutions.pets.posts import AnimalRecord, CameraSighting, FeedbackRecord, MatchRecord, PostRecord
from sightings.solutions.pets.store_models import (
    VERSION_TABLE,
    AnimalRow,
    FeedbackRow,
    MatchRow,
    PhotoRow,
    PostRow,
    SightingRow,
)

__all__ = ["PetsStore", "PhotoHash"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True, slots=True)
class PhotoHash:
    """One stored photo's perceptual hash (for same-photo dedup)."""

    photo_index: int
    phash: str
    width: int
    height: int
    tiles: int = 1


def _post(row: PostRow) -> PostRecord:
    return PostRecord(
        id=row.id,
        source=row.source,
        source_id=row.source_id,
        kind=row.kind,
        created_at=row.created_at,
        posted_at=row.posted_at,
        link=row.link,
        text=row.text,
        author=row.author,
        species=row.species,
        city=row.city,
        district=row.district,
        address=row.address,
        phones=tuple(row.phones or ()),
        lat=row.lat,
        lon=row.lon,
        repost_of=row.repost_of,
        duplicate_of=row.duplicate_of,
        duplicate_reason=row.duplicate_reason,
        flags=tuple(row.flags or ()),
        privacy=row.privacy,
        photo_count=row.photo_count,
        facts=dict(row.facts or {}),
    )


def _animal(row: AnimalRow) -> AnimalRecord:
    box = None if row.x1 is None else Box(row.x1, row.y1 or 0.0, row.x2 or 0.0, row.y2 or 0.0)
    return AnimalRecord(
        embedding_id=row.embedding_id,
        post_id=row.post_id,
        gallery=row.gallery,
        photo_index=row.photo_index,
        tile_index=row.tile_index,
        box=box,
        species=row.species,
        score=row.score,
        stored=row.stored,
        sighting_id=row.sighting_id,
    )


def _sighting(row: SightingRow) -> CameraSighting:
    return CameraSighting(
        id=row.id,
        camera_id=row.camera_id,
        seen_at=row.seen_at,
        lat=row.lat,
        lon=row.lon,
        embedding_id=row.embedding_id,
        created_at=row.created_at,
        species=row.species,
        score=row.score,
        district=row.district,
    )


def _match(row: MatchRow) -> MatchRecord:
    return MatchRecord(
        id=row.id,
        lost_post_id=row.lost_post_id,
        target_kind=row.target_kind,
        target_id=row.target_id,
        confidence=row.confidence,
        score=row.score,
        calibrated=row.calibrated,
        sure=row.sure,
        created_at=row.created_at,
        distance_km=row.distance_km,
        lost_embedding_id=row.lost_embedding_id,
        target_embedding_id=row.target_embedding_id,
    )


def _animal_row(a: AnimalRecord) -> AnimalRow:
    box = a.box.xyxy if a.box is not None else (None, None, None, None)
    return AnimalRow(
        embedding_id=a.embedding_id,
        post_id=a.post_id,
        sighting_id=a.sighting_id,
        gallery=a.gallery,
        photo_index=a.photo_index,
        tile_index=a.tile_index,
        x1=box[0],
        y1=box[1],
        x2=box[2],
        y2=box[3],
        species=a.species,
        score=a.score,
        stored=a.stored,
    )


class PetsStore(SolutionTables):
    """The pets tables. ``PetsStore(path=...)`` a SQLite file; ``PetsStore(url)`` a server."""

    migrations_dir = MIGRATIONS_DIR
    version_table = VERSION_TABLE

    # ------------------------------------------------------------------ posts
    def add_post(
        self,
        post: PostRecord,
        *,
        photos: Sequence[PhotoHash] = (),
        animals: Sequence[AnimalRecord] = (),
        text_signature: Sequence[int] | None = None,
    ) -> PostRecord | None:
        """Store a post with its photos and crops in one transaction; ``None`` when its (source, source_id) is
        already stored (nothing written)."""
        row = PostRow(
            id=post.id,
            source=post.source,
            source_id=post.source_id,
            link=post.link,
            kind=post.kind,
            species=post.species,
            city=post.city,
            district=post.district,
            address=post.address,
            phones=list(post.phones),
            lat=post.lat,
            lon=post.lon,
            posted_at=post.posted_at,
            created_at=post.created_at,
            text=post.text,
            text_signature=None if text_signature is None else [int(v) for v in text_signature],
            author=post.author,
            repost_of=post.repost_of,
            duplicate_of=post.duplicate_of,
            duplicate_reason=post.duplicate_reason,
            flags=list(post.flags),
            privacy=post.privacy,
            photo_count=post.photo_count,
            facts=dict(post.facts),
        )
        try:
            with self._sessions() as session, session.begin():
                if self._find(session, post.source, post.source_id) is not None:
                    return None
                session.add(row)
                session.flush()
                for p in photos:
                    session.add(
                        PhotoRow(
                            post_id=post.id,
                            photo_index=p.photo_index,
                            phash=p.phash,
                            width=p.width,
                            height=p.height,
                            tiles=p.tiles,
                        )
                    )
                session.add_all([_animal_row(a) for a in animals])
        except exc.IntegrityError:
            # another writer stored the same (source, source_id) between our check and our insert
            if self.find_post(post.source, post.source_id) is not None:
                return None
            with database_errors(self.where):
                raise
        except exc.SQLAlchemyError:
            with database_errors(self.where):
                raise
        return post

    @staticmethod
    def _find(session: Session, source: str, source_id: str) -> PostRow | None:
        query = select(PostRow).where(PostRow.source == source, PostRow.source_id == source_id)
        return session.scalars(query).first()

    def find_post(self, source: str, source_id: str) -> PostRecord | None:
        with self._transaction() as session:
            row = self._find(session, source, source_id)
            return None if row is None else _post(row)

    def get_post(self, post_id: str) -> PostRecord:
        with self._transaction() as session:
            row = session.get(PostRow, post_id)
            if row is None:
                raise NotFoundError("no such post", where=f"post {post_id}")
            return _post(row)

    def posts(self, post_ids: Sequence[str]) -> dict[str, PostRecord]:
        if not post_ids:
            return {}
        with self._transaction() as session:
            rows = session.scalars(select(PostRow).where(PostRow.id.in_(list(set(post_ids)))))
            return {r.id: _post(r) for r in rows}

    def list_posts(self, *, kind: str | None = None, limit: int = 100) -> list[PostRecord]:
        query = select(PostRow).order_by(PostRow.created_at.desc(), PostRow.id).limit(limit)
        if kind is not None:
            query = query.where(PostRow.kind == kind)
        with self._transaction() as session:
            return [_post(r) for r in session.scalars(query)]

    def reposts_of(self, source: str, source_id: str) -> list[PostRecord]:
        """Posts of ``source`` that re-post ``source_id`` (and are not duplicates themselves)."""
        query = select(PostRow).where(
            PostRow.source == source, PostRow.repost_of == source_id, PostRow.duplicate_of.is_(None)
        )
        with self._transaction() as session:
            return [_post(r) for r in session.scalars(query.order_by(PostRow.created_at))]

    def originals_with_photos(self) -> list[tuple[str, str, str]]:
        """(post id, kind, pHash hex) of every photo of every post that is not a duplicate."""
        query = (
            select(PhotoRow.post_id, PostRow.kind, PhotoRow.phash)
            .join(PostRow, PostRow.id == PhotoRow.post_id)
            .where(PostRow.duplicate_of.is_(None))
        )
        with self._transaction() as session:
            return [(str(a), str(k), str(b)) for a, k, b in session.execute(query)]

    def originals_with_text(self) -> list[tuple[str, str, list[int]]]:
        """(post id, kind, MinHash signature) of every post with a text signature that is not a duplicate."""
        query = select(PostRow.id, PostRow.kind, PostRow.text_signature).where(
            PostRow.duplicate_of.is_(None), PostRow.text_signature.is_not(None)
        )
        with self._transaction() as session:
            return [(str(a), str(k), list(b)) for a, k, b in session.execute(query) if b]

    def photos_of(self, post_id: str) -> list[PhotoHash]:
        query = select(PhotoRow).where(PhotoRow.post_id == post_id).order_by(PhotoRow.photo_index)
        with self._transaction() as session:
            return [PhotoHash(r.photo_index, r.phash, r.width, r.height, r.tiles) for r in session.scalars(query)]

    def duplicates_of(self, post_id: str) -> list[PostRecord]:
        with self._transaction() as session:
            rows = session.scalars(select(PostRow).where(PostRow.duplicate_of == post_id).order_by(PostRow.created_at))
            return [_post(r) for r in rows]

    # ------------------------------------------------------------------ animals, sightings
    def animals_of(self, post_id: str) -> list[AnimalRecord]:
        query = select(AnimalRow).where(AnimalRow.post_id == post_id)
        with self._transaction() as session:
            rows = session.scalars(query.order_by(AnimalRow.photo_index, AnimalRow.tile_index, AnimalRow.embedding_id))
            return [_animal(r) for r in rows]

    def get_animal(self, embedding_id: str) -> AnimalRecord:
        with self._transaction() as session:
            row = session.get(AnimalRow, embedding_id)
            if row is None:
                raise NotFoundError("no such photo", where=f"photo {embedding_id}")
            return _animal(row)

    def stored_crops(self, embedding_ids: Sequence[str]) -> set[str]:
        """The ones of ``embedding_ids`` whose crop file was kept."""
        if not embedding_ids:
            return set()
        query = select(AnimalRow.embedding_id).where(
            AnimalRow.embedding_id.in_(list(set(embedding_ids))), AnimalRow.stored.is_(True)
        )
        with self._transaction() as session:
            return {str(v) for v in session.scalars(query)}

    def add_sighting(self, sighting: CameraSighting, animal: AnimalRecord) -> CameraSighting:
        with self._transaction() as session:
            session.add(
                SightingRow(
                    id=sighting.id,
                    camera_id=sighting.camera_id,
                    lat=sighting.lat,
                    lon=sighting.lon,
                    seen_at=sighting.seen_at,
                    created_at=sighting.created_at,
                    species=sighting.species,
                    score=sighting.score,
                    district=sighting.district,
                    embedding_id=sighting.embedding_id,
                )
            )
            session.flush()
            session.add(_animal_row(animal))
        return sighting

    def get_sighting(self, sighting_id: str) -> CameraSighting:
        with self._transaction() as session:
            row = session.get(SightingRow, sighting_id)
            if row is None:
                raise NotFoundError("no such sighting", where=f"sighting {sighting_id}")
            return _sighting(row)

    def sightings(self, sighting_ids: Sequence[str]) -> dict[str, CameraSighting]:
        if not sighting_ids:
            return {}
        with self._transaction() as session:
            rows = session.scalars(select(SightingRow).where(SightingRow.id.in_(list(set(sighting_ids)))))
            return {r.id: _sighting(r) for r in rows}

    # ------------------------------------------------------------------ matches, feedback
    def upsert_matches(self, records: Sequence[MatchRecord]) -> list[MatchRecord]:
        """Store matches; a pair already stored keeps its id and takes the higher confidence."""
        out: list[MatchRecord] = []
        with self._transaction() as session:
            for rec in records:
                query = select(MatchRow).where(
                    MatchRow.lost_post_id == rec.lost_post_id,
                    MatchRow.target_kind == rec.target_kind,
                    MatchRow.target_id == rec.target_id,
                )
                row = session.scalars(query).first()
                if row is None:
                    row = MatchRow(
                        id=rec.id,
                        lost_post_id=rec.lost_post_id,
                        target_kind=rec.target_kind,
                        target_id=rec.target_id,
                        created_at=rec.created_at,
                    )
                    session.add(row)
                elif row.confidence >= rec.confidence:
                    out.append(_match(row))
                    continue
                row.confidence = rec.confidence
                row.score = rec.score
                row.calibrated = rec.calibrated
                row.sure = rec.sure
                row.distance_km = rec.distance_km
                row.lost_embedding_id = rec.lost_embedding_id
                row.target_embedding_id = rec.target_embedding_id
                session.flush()
                out.append(_match(row))
        return out

    def matches_of_lost(self, lost_post_id: str) -> list[MatchRecord]:
        query = select(MatchRow).where(MatchRow.lost_post_id == lost_post_id)
        with self._transaction() as session:
            return [_match(r) for r in session.scalars(query.order_by(MatchRow.confidence.desc(), MatchRow.id))]

    def matches_of_target(self, target_kind: str, target_id: str) -> list[MatchRecord]:
        query = select(MatchRow).where(MatchRow.target_kind == target_kind, MatchRow.target_id == target_id)
        with self._transaction() as session:
            return [_match(r) for r in session.scalars(query.order_by(MatchRow.confidence.desc(), MatchRow.id))]

    def get_match(self, match_id: str) -> MatchRecord:
        with self._transaction() as session:
            row = session.get(MatchRow, match_id)
            if row is None:
                raise NotFoundError("no such match", where=f"match {match_id}")
            return _match(row)

    def add_feedback(self, record: FeedbackRecord) -> FeedbackRecord:
        with self._transaction() as session:
            if session.get(MatchRow, record.match_id) is None:
                raise NotFoundError("no such match", where=f"match {record.match_id}")
            row = FeedbackRow(
                match_id=record.match_id,
                verdict=record.verdict,
                note=record.note,
                author=record.author,
                created_at=record.created_at,
            )
            session.add(row)
            session.flush()
            return FeedbackRecord(row.match_id, row.verdict, row.created_at, row.note, row.author, row.id)

    def feedback(self, match_id: str | None = None) -> list[FeedbackRecord]:
        query = select(FeedbackRow).order_by(FeedbackRow.id)
        if match_id is not None:
            query = query.where(FeedbackRow.match_id == match_id)
        with self._transaction() as session:
            return [
                FeedbackRecord(r.match_id, r.verdict, r.created_at, r.note, r.author, r.id)
                for r in session.scalars(query)
            ]

    def feedback_pairs(self) -> list[tuple[float, bool, bool]]:
        """(match score, owner said "mine", calibrated) of the latest answer per match — calibration pairs."""
        latest: dict[str, str] = {}
        for fb in self.feedback():
            latest[fb.match_id] = fb.verdict
        if not latest:
            return []
        with self._transaction() as session:
            rows = session.scalars(select(MatchRow).where(MatchRow.id.in_(list(latest))))
            return [(r.score, latest[r.id] == "mine", r.calibrated) for r in rows]

    def counts(self) -> dict[str, Any]:
        from sqlalchemy import func

        with self._transaction() as session:
            return {
                name: int(session.scalar(select(func.count()).select_from(model)) or 0)
                for name, model in (
                    ("posts", PostRow),
                    ("photos", PhotoRow),
                    ("animals", AnimalRow),
                    ("sightings", SightingRow),
                    ("matches", MatchRow),
                    ("feedback", FeedbackRow),
                )
            }


def utc_now() -> datetime:
    return datetime.now(UTC)
