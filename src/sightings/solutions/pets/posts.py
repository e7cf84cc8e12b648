"""The pets vocabulary: a post as it arrives (:class:`PostDraft`), as it is stored (:class:`PostRecord`), its animal
crops, camera sightings, lost↔found matches and owner feedback. Frozen dataclasses, validated on construction.

    draft = PostDraft(source="manual", kind="lost", text="Пропал кот...", photos=(jpeg_bytes,), lat=55.75, lon=37.62)
    outcome = PetsService().add_post(draft)       # → PostOutcome(post, animals, matches, status)

Times are timezone-aware UTC; places are (lat, lon) degrees; boxes are pixels of the (collage tile of the) photo.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sightings.core.errors import InputError
from sightings.core.types import Box
from sightings.identity.catalog.records import to_utc
from sightings.media.images import ImageSource

__all__ = [
    "FLAGS",
    "KINDS",
    "SOURCES",
    "SPECIES",
    "VERDICTS",
    "AnimalRecord",
    "CameraSighting",
    "FeedbackRecord",
    "MatchRecord",
    "PostDraft",
    "PostOutcome",
    "PostRecord",
    "SightingDraft",
    "check_point",
    "parse_point",
]

SOURCES = ("vk", "telegram", "manual")
KINDS = ("lost", "found", "adoption", "other")
SPECIES = ("cat", "dog")
VERDICTS = ("mine", "not_mine")
FLAGS = ("no_photo", "no_animal", "no_detector", "collage", "privacy")
"""``no_photo``: a post without photos; ``no_animal``: the detector found no cat or dog in any photo;
``no_detector``: no detector was available, photos were used whole; ``collage``: a photo was split into tiles;
``privacy``: stored in privacy mode (no photo files, no full text)."""

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._:@/-]{0,127}$")  # VK ids look like -123_456


def _one_of(value: str | None, allowed: Sequence[str], where: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if value not in allowed:
        raise InputError(f"must be one of {', '.join(allowed)}, got {value!r}", where=where)


def _utc(t: datetime | None, where: str) -> datetime | None:
    return None if t is None else to_utc(t, where)


def check_point(lat: float | None, lon: float | None, where: str) -> None:
    """Both or neither, finite, in range (degrees)."""
    if (lat is None) != (lon is None):
        raise InputError("lat and lon go together", where=where)
    if lat is None or lon is None:
        return
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InputError(f"latitude must be in [-90, 90], got {lat}", where=where)
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InputError(f"longitude must be in [-180, 180], got {lon}", where=where)


def parse_point(text: str | None, where: str = "where") -> tuple[float, float] | None:
    """``"55.75,37.62"`` (or ``"55.75 37.62"``) → (lat, lon); empty → None."""
    if text is None or not text.strip():
        return None
    parts = [p for p in re.split(r"[,;\s]+", text.strip()) if p]
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"expected 'LAT,LON' in degrees, got {text!r}", where=where) from None
    check_point(lat, lon, where)
    return lat, lon


def check_source_id(value: str | None, where: str) -> None:
    if value is not None and not _SAFE_ID.match(value):
        raise InputError(f"{value!r} is not a valid id (letters, digits, '._:@/-'; at most 128)", where=where)


@dataclass(frozen=True, slots=True, eq=False)
class PostDraft:
    """A post as it arrives from VK, Telegram or a person. ``None`` fields are filled from the text where it can.

    ``photos`` are file paths or encoded bytes; ``photo_names`` name them in error messages. ``repost_of`` is the
    ``source_id`` of the post this one re-posts (VK ``copy_history``), same source.
    """

    source: str = "manual"
    source_id: str | None = None
    link: str | None = None
    text: str = ""
    photos: tuple[ImageSource, ...] = ()
    photo_names: tuple[str, ...] = ()
    author: str | None = None
    posted_at: datetime | None = None
    kind: str | None = None
    species: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None
    phones: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    repost_of: str | None = None

    def __post_init__(self) -> None:
        _one_of(self.source, SOURCES, "post.source")
        _one_of(self.kind, KINDS, "post.kind", optional=True)
        _one_of(self.species, SPECIES, "post.species", optional=True)
        check_source_id(self.source_id, "post.source_id")
        check_source_id(self.repost_of, "post.repost_of")
        check_point(self.lat, self.lon, "post.lat/lon")
        if not isinstance(self.text, str):
            raise InputError(f"must be text, got {type(self.text).__name__}", where="post.text")
        for name in ("text", "link", "author", "city", "district", "address"):  # PostgreSQL cannot store NUL
            value = getattr(self, name)
            if isinstance(value, str) and "\x00" in value:
                raise InputError("contains a NUL character", where=f"post.{name}")
        if any("\x00" in phone for phone in self.phones):
            raise InputError("contains a NUL character", where="post.phones")
        object.__setattr__(self, "photos", tuple(self.photos))
        object.__setattr__(self, "phones", tuple(self.phones))
        names = tuple(self.photo_names) or tuple(f"photo {i + 1}" for i in range(len(self.photos)))
        if len(names) != len(self.photos):
            raise InputError(f"{len(names)} names for {len(self.photos)} photos", where="post.photo_names")
        object.__setattr__(self, "photo_names", names)
        object.__setattr__(self, "posted_at", _utc(self.posted_at, "post.posted_at"))


@dataclass(frozen=True, slots=True)
class PostRecord:
    """A stored post. ``text`` is ``None`` in privacy mode; ``duplicate_of`` links a copy to the post kept."""

    id: str
    source: str
    source_id: str
    kind: str
    created_at: datetime
    posted_at: datetime
    link: str | None = None
    text: str | None = None
    author: str | None = None
    species: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None
    phones: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    repost_of: str | None = None
    duplicate_of: str | None = None
    duplicate_reason: str | None = None
    flags: tuple[str, ...] = ()
    privacy: bool = False
    photo_count: int = 0
    facts: Mapping[str, Any] = field(default_factory=dict)
    """extracted fields with their confidence and source: ``{"kind": {"value": "lost", "confidence": 0.9, ...}}``"""

    def __post_init__(self) -> None:
        _one_of(self.source, SOURCES, "post.source")
        _one_of(self.kind, KINDS, "post.kind")
        _one_of(self.species, SPECIES, "post.species", optional=True)
        object.__setattr__(self, "phones", tuple(self.phones))
        object.__setattr__(self, "flags", tuple(self.flags))

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True, slots=True)
class AnimalRecord:
    """One animal crop of a post photo (or a camera sighting's crop): its vector in the lost/found gallery."""

    embedding_id: str
    post_id: str | None
    gallery: str  # "lost" | "found"
    photo_index: int = 0
    tile_index: int = 0
    box: Box | None = None
    species: str | None = None
    score: float | None = None
    stored: bool = False  # the crop image is on disk (never in privacy mode)
    sighting_id: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class SightingDraft:
    """A street-camera sighting sent by the watcher: a crop of one animal, where and when it was seen."""

    camera_id: str
    crop: ImageSource
    seen_at: datetime
    lat: float
    lon: float
    species: str | None = None
    score: float | None = None
    district: str | None = None

    def __post_init__(self) -> None:
        check_source_id(self.camera_id, "sighting.camera_id")
        _one_of(self.species, SPECIES, "sighting.species", optional=True)
        check_point(self.lat, self.lon, "sighting.lat/lon")
        object.__setattr__(self, "seen_at", _utc(self.seen_at, "sighting.seen_at"))


@dataclass(frozen=True, slots=True)
class CameraSighting:
    """A stored camera sighting."""

    id: str
    camera_id: str
    seen_at: datetime
    lat: float
    lon: float
    embedding_id: str
    created_at: datetime
    species: str | None = None
    score: float | None = None
    district: str | None = None


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """A lost post and a candidate (a found post or a camera sighting) that may be the same animal.

    ``confidence`` is the calibrated probability (``calibrated`` False: the raw score clipped to [0, 1], never
    "sure"); ``sure`` is ``confidence >= pets.precision_threshold`` with a calibrated confidence.
    """

    id: str
    lost_post_id: str
    target_kind: str  # "post" | "sighting"
    target_id: str
    confidence: float
    score: float
    calibrated: bool
    sure: bool
    created_at: datetime
    distance_km: float | None = None
    lost_embedding_id: str | None = None
    target_embedding_id: str | None = None


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """An owner's answer about a match: ``mine`` or ``not_mine``."""

    match_id: str
    verdict: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    note: str | None = None
    author: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        _one_of(self.verdict, VERDICTS, "feedback.verdict")


@dataclass(frozen=True, slots=True)
class PostOutcome:
    """What :meth:`PetsService.add_post` did. ``status``: ``added`` (a new post, matched), ``duplicate`` (stored and
    linked to ``post.duplicate_of``, not matched again) or ``exists`` (this source id was already stored)."""

    post: PostRecord
    status: str
    animals: tuple[AnimalRecord, ...] = ()
    matches: tuple[MatchRecord, ...] = ()
