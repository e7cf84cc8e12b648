"""Personal data kept only as long as configured, and deletion of a post or a sighting everywhere.

    purge_personal_data(service)        # phones, author, text, address, OCR text of posts older than
                                        # pets.personal_data_days (default 30); feedback notes and authors too
    delete_post(service, post_id)       # rows, matches, feedback, crops and gallery vectors: gone
    delete_sighting(service, sid)

Order of a deletion: the rows go first, in one transaction; then the vectors and the crop files. A crash between
the two leaves vectors no row points to; :mod:`sightings.identity.consistency` removes them on the next start
(:func:`repair_pets`), so a deleted post never comes back as a match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update

from sightings.core.errors import NotFoundError
from sightings.solutions.pets.store_models import AnimalRow, FeedbackRow, MatchRow, PostRow, SightingRow

__all__ = ["DeleteReport", "PurgeReport", "delete_post", "delete_sighting", "purge_personal_data", "repair_pets"]

#: fields of ``facts`` that name or reach a person (dropped by the purge)
PERSONAL_FACTS = ("phones", "street", "ocr_text", "author")


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge changed: posts stripped of personal data, feedback rows stripped of notes/authors."""

    cutoff: datetime
    posts: int
    feedback: int


@dataclass(frozen=True, slots=True)
class DeleteReport:
    """What a deletion removed."""

    kind: str  # post | sighting
    id: str
    embeddings: tuple[str, ...]
    matches: int


def purge_personal_data(service: Any, *, now: datetime | None = None, days: float | None = None) -> PurgeReport:
    """Strip personal data from posts taken in more than ``days`` (default ``pets.personal_data_days``) ago."""
    keep_days = service.config.personal_data_days if days is None else days
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    # (json_array_length: SQLite and PostgreSQL alike; PostgreSQL's json type has no "=" to compare with [])
    has_phones = func.coalesce(func.json_array_length(PostRow.phones), 0) > 0
    personal = or_(PostRow.text.is_not(None), PostRow.author.is_not(None), PostRow.address.is_not(None), has_phones)
    posts = feedback = 0
    with service.store.transaction() as session:
        for row in session.scalars(select(PostRow).where(PostRow.created_at < cutoff, personal)):
            row.text = None
            row.author = None
            row.address = None
            row.phones = []
            row.facts = {k: v for k, v in (row.facts or {}).items() if k not in PERSONAL_FACTS}
            row.flags = sorted({*(row.flags or []), "purged"})
            posts += 1
        feedback = session.execute(
            update(FeedbackRow)
            .where(FeedbackRow.created_at < cutoff, or_(FeedbackRow.note.is_not(None), FeedbackRow.author.is_not(None)))
            .values(note=None, author=None)
        ).rowcount
    return PurgeReport(cutoff, posts, int(feedback or 0))


def _drop_matches(session: Any, *, lost_post_id: str | None, target_kind: str, target_id: str) -> int:
    conditions: list[ColumnElement[bool]] = [(MatchRow.target_kind == target_kind) & (MatchRow.target_id == target_id)]
    if lost_post_id is not None:
        conditions.append(MatchRow.lost_post_id == lost_post_id)
    ids = list(session.scalars(select(MatchRow.id).where(or_(*conditions))))
    if ids:
        session.execute(delete(FeedbackRow).where(FeedbackRow.match_id.in_(ids)))
        session.execute(delete(MatchRow).where(MatchRow.id.in_(ids)))
    return len(ids)


def _forget(service: Any, by_gallery: dict[str, list[str]]) -> None:
    """Vectors, local features and crop files of the embeddings (unknown ones are no-ops)."""
    for gallery, ids in by_gallery.items():
        if ids:
            service.matcher(gallery).forget(ids)
            for eid in ids:
                (service.crops_dir / f"{eid}.jpg").unlink(missing_ok=True)


def delete_post(service: Any, post_id: str) -> DeleteReport:
    """Remove a post, its photos' rows, its crops (files and vectors), its matches and their feedback."""
    with service._write, service.store.transaction() as session:
        post = session.get(PostRow, post_id)
        if post is None:
            raise NotFoundError("no such post", where=f"post {post_id}")
        animals = list(session.scalars(select(AnimalRow).where(AnimalRow.post_id == post_id)))
        by_gallery: dict[str, list[str]] = {}
        for a in animals:
            by_gallery.setdefault(a.gallery, []).append(a.embedding_id)
        matches = _drop_matches(session, lost_post_id=post_id, target_kind="post", target_id=post_id)
        session.execute(update(PostRow).where(PostRow.duplicate_of == post_id).values(duplicate_of=None))
        session.delete(post)  # photos and animals cascade
    with service._write:
        _forget(service, by_gallery)
        service._dedup = None  # rebuilt from the rows on next use
    return DeleteReport("post", post_id, tuple(a.embedding_id for a in animals), matches)


def delete_sighting(service: Any, sighting_id: str) -> DeleteReport:
    """Remove a camera sighting, its crop (file and vector), and the matches that point to it."""
    with service._write, service.store.transaction() as session:
        row = session.get(SightingRow, sighting_id)
        if row is None:
            raise NotFoundError("no such sighting", where=f"sighting {sighting_id}")
        animals = list(session.scalars(select(AnimalRow.embedding_id).where(AnimalRow.sighting_id == sighting_id)))
        eids = sorted({*animals, row.embedding_id})
        matches = _drop_matches(session, lost_post_id=None, target_kind="sighting", target_id=sighting_id)
        session.execute(delete(AnimalRow).where(AnimalRow.sighting_id == sighting_id))
        session.delete(row)
    with service._write:
        _forget(service, {"found": eids})
    return DeleteReport("sighting", sighting_id, tuple(eids), matches)


def repair_pets(service: Any) -> list[Any]:
    """Put the lost and found galleries back in step with ``pets_animals`` (see sightings.identity.consistency):
    orphan vectors (a crash between the vector and the rows, or during a deletion) go, with their crop file; a
    missing vector is rebuilt from its crop file when one was kept."""
    from sightings.identity.consistency import read_photo, repair_gallery

    crops = service.crops_dir

    def remove(eid: str) -> None:
        (crops / f"{eid}.jpg").unlink(missing_ok=True)

    def image_of(eid: str) -> Any:
        return read_photo(crops / f"{eid}.jpg")

    with service._write:  # no write between reading the rows and fixing the galleries
        expected: dict[str, dict[str, dict[str, Any]]] = {"lost": {}, "found": {}}
        with service.store.transaction() as session:
            posts = {r.id: r for r in session.scalars(select(PostRow))}
            sightings = {r.id: r for r in session.scalars(select(SightingRow))}
            for a in session.scalars(select(AnimalRow)):
                owner_id = a.post_id or a.sighting_id
                if a.gallery not in expected or owner_id is None:
                    continue
                post = posts.get(a.post_id or "")
                sighting = sightings.get(a.sighting_id or "")
                t = post.posted_at if post is not None else sighting.seen_at if sighting is not None else None
                species = (post.species if post is not None else None) or a.species or "unknown"
                source = "post" if a.post_id else "camera"
                expected[a.gallery][a.embedding_id] = {
                    "species": species,
                    "t": t,
                    "source": source,
                    "identity": owner_id,
                }
        return [
            repair_gallery(service.matcher(g), rows, name=f"pets_{g}", image_of=image_of, remove_files=remove)
            for g, rows in expected.items()
        ]
