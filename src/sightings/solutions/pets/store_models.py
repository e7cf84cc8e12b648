"""Tables of the pets solution, in the catalog's database beside ``identities`` and ``sightings``.

Own Alembic revisions (``solutions/pets/migrations``, version table ``pets_alembic_version``); a test checks that
the revisions agree with these models.

    pets_posts      id PK · source · source_id (unique with source) · link · kind · species · city · district ·
                    address · phones JSON · lat · lon · posted_at · created_at · text (NULL in privacy mode) ·
                    text_signature JSON (MinHash of the text's shingles, for near-duplicate text) · author ·
                    repost_of · duplicate_of FK → pets_posts · duplicate_reason · flags JSON · privacy · photo_count ·
                    facts JSON (extracted fields with confidence)
    pets_photos     id PK · post_id FK · photo_index · phash (hex) · width · height · tiles
    pets_sightings  id PK · camera_id · lat · lon · seen_at · created_at · species · score · district · embedding_id
                    (street-camera sightings, for the watcher)
    pets_animals    embedding_id PK · post_id FK | sighting_id FK · gallery (lost|found) · photo_index · tile_index ·
                    x1 y1 x2 y2 · species · score · stored (crop file on disk)
    pets_matches    id PK · lost_post_id FK · target_kind (post|sighting) · target_id (unique with the two) ·
                    confidence · score · calibrated · sure · distance_km · lost/target embedding ids · created_at
    pets_feedback   id PK · match_id FK · verdict (mine|not_mine) · note · author · created_at
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sightings.identity.catalog.models import NAMING_CONVENTION, UtcDateTime

__all__ = ["AnimalRow", "FeedbackRow", "MatchRow", "PetsBase", "PhotoRow", "PostRow", "SightingRow"]

VERSION_TABLE = "pets_alembic_version"


class PetsBase(DeclarativeBase):
    """Declarative base of the pets tables (a metadata of their own, for their own migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PostRow(PetsBase):
    """One post (lost, found, adoption, other) from VK, Telegram or a person."""

    __tablename__ = "pets_posts"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_pets_posts_source_source_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(128))
    link: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    species: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(128))
    district: Mapped[str | None] = mapped_column(String(128), index=True)
    address: Mapped[str | None] = mapped_column(String(256))
    phones: Mapped[list[str]] = mapped_column(JSON, default=list)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    text: Mapped[str | None] = mapped_column(Text)
    text_signature: Mapped[list[int] | None] = mapped_column(JSON)
    author: Mapped[str | None] = mapped_column(String(256))
    repost_of: Mapped[str | None] = mapped_column(String(128), index=True)
    duplicate_of: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("pets_posts.id", ondelete="SET NULL"), index=True
    )
    duplicate_reason: Mapped[str | None] = mapped_column(String(32))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    privacy: Mapped[bool] = mapped_column(Boolean, default=False)
    photo_count: Mapped[int] = mapped_column(Integer, default=0)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PhotoRow(PetsBase):
    """One photo of a post: its perceptual hash (same-photo dedup) and size."""

    __tablename__ = "pets_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[str] = mapped_column(String(64), ForeignKey("pets_posts.id", ondelete="CASCADE"), index=True)
    photo_index: Mapped[int] = mapped_column(Integer)
    phash: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    tiles: Mapped[int] = mapped_column(Integer, default=1)


class SightingRow(PetsBase):
    """A street-camera sighting of a cat or dog (sent by the watcher)."""

    __tablename__ = "pets_sightings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(128), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    species: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    district: Mapped[str | None] = mapped_column(String(128))
    embedding_id: Mapped[str] = mapped_column(String(128))


class AnimalRow(PetsBase):
    """One animal crop and its vector id in the lost or found gallery."""

    __tablename__ = "pets_animals"

    embedding_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    post_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("pets_posts.id", ondelete="CASCADE"), index=True)
    sighting_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("pets_sightings.id", ondelete="CASCADE"), index=True
    )
    gallery: Mapped[str] = mapped_column(String(8))
    photo_index: Mapped[int] = mapped_column(Integer, default=0)
    tile_index: Mapped[int] = mapped_column(Integer, default=0)
    x1: Mapped[float | None] = mapped_column(Float)
    y1: Mapped[float | None] = mapped_column(Float)
    x2: Mapped[float | None] = mapped_column(Float)
    y2: Mapped[float | None] = mapped_column(Float)
    species: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    stored: Mapped[bool] = mapped_column(Boolean, default=False)


class MatchRow(PetsBase):
    """A lost post and a candidate found post or camera sighting."""

    __tablename__ = "pets_matches"
    __table_args__ = (
        UniqueConstraint("lost_post_id", "target_kind", "target_id", name="uq_pets_matches_lost_post_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lost_post_id: Mapped[str] = mapped_column(String(64), ForeignKey("pets_posts.id", ondelete="CASCADE"), index=True)
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    calibrated: Mapped[bool] = mapped_column(Boolean)
    sure: Mapped[bool] = mapped_column(Boolean, index=True)
    distance_km: Mapped[float | None] = mapped_column(Float)
    lost_embedding_id: Mapped[str | None] = mapped_column(String(128))
    target_embedding_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FeedbackRow(PetsBase):
    """An owner's answer about a match (append-only)."""

    __tablename__ = "pets_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    match_id: Mapped[str] = mapped_column(String(64), ForeignKey("pets_matches.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
