"""Core vocabulary shared by every stage: media, frames, boxes, detections, tracks, sightings, matches, events.

Frozen, slotted dataclasses with units in field names; validation in ``__post_init__`` raises
:class:`~sightings.core.errors.InputError` naming the field. Times are timezone-aware UTC
``datetime`` values or seconds from the start of a media file (``t_s``); boxes are pixels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError

__all__ = [
    "Box",
    "Detection",
    "Event",
    "Frame",
    "Identity",
    "Match",
    "MediaKind",
    "MediaRef",
    "Place",
    "Sighting",
    "Track",
    "as_utc",
]


def as_utc(t: datetime) -> datetime:
    """``t`` in UTC, reading a naive datetime as UTC already (form fields, SQLite columns, driver values)."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _require(ok: bool, field_name: str, reason: str) -> None:
    if not ok:
        raise InputError(reason, where=field_name)


def _require_utc(t: datetime | None, field_name: str) -> None:
    if t is not None:
        _require(t.tzinfo is not None and t.utcoffset() is not None, field_name, "must be timezone-aware (UTC)")


class MediaKind(StrEnum):
    """What a :class:`MediaRef` points at."""

    VIDEO = "video"
    IMAGE = "image"
    STREAM = "stream"


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A media source: a video file, an image, or a live stream."""

    uri: str
    kind: MediaKind
    fps: float | None = None
    frame_count: int | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None

    def __post_init__(self) -> None:
        _require(bool(self.uri), "MediaRef.uri", "must not be empty")
        object.__setattr__(self, "kind", MediaKind(self.kind))
        _require(self.fps is None or (math.isfinite(self.fps) and self.fps > 0), "MediaRef.fps", "must be > 0")
        _require(self.frame_count is None or self.frame_count >= 0, "MediaRef.frame_count", "must be >= 0")
        _require(self.width is None or self.width > 0, "MediaRef.width", "must be > 0")
        _require(self.height is None or self.height > 0, "MediaRef.height", "must be > 0")
        _require(self.duration_s is None or self.duration_s >= 0, "MediaRef.duration_s", "must be >= 0")


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded frame: an RGB ``uint8`` array of shape (height, width, 3)."""

    media: MediaRef
    index: int
    t_s: float
    image: npt.NDArray[np.uint8] = field(repr=False)

    def __post_init__(self) -> None:
        _require(self.index >= 0, "Frame.index", "must be >= 0")
        _require(math.isfinite(self.t_s) and self.t_s >= 0, "Frame.t_s", "must be a finite time >= 0")
        img = self.image
        _require(
            isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3,
            "Frame.image",
            "must be a uint8 array of shape (height, width, 3)",
        )

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in pixels, (x1, y1) top-left inclusive, (x2, y2) bottom-right exclusive."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        _require(
            all(math.isfinite(v) for v in (self.x1, self.y1, self.x2, self.y2)), "Box", "coordinates must be finite"
        )
        _require(self.x2 >= self.x1 and self.y2 >= self.y1, "Box", f"needs x1<=x2 and y1<=y2, got {self.xyxy}")

    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float) -> Box:
        return cls(x, y, x + w, y + h)

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.width, self.height)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other`` (0 when disjoint or both empty)."""
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clip(self, width: int, height: int) -> Box:
        """This box clipped to an image of ``width`` × ``height`` pixels."""
        return Box(
            min(max(self.x1, 0.0), width),
            min(max(self.y1, 0.0), height),
            min(max(self.x2, 0.0), width),
            min(max(self.y2, 0.0), height),
        )


@dataclass(frozen=True, slots=True, eq=False)
class Detection:
    """An object found in one frame (``frame`` is the frame index in its media)."""

    frame: int
    box: Box
    label: str
    score: float
    mask: npt.NDArray[np.bool_] | None = field(default=None, repr=False)
    keypoints: npt.NDArray[np.float32] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _require(self.frame >= 0, "Detection.frame", "must be >= 0")
        _require(bool(self.label), "Detection.label", "must not be empty")
        _require(0.0 <= self.score <= 1.0, "Detection.score", f"must be in [0, 1], got {self.score}")


@dataclass(frozen=True, slots=True, eq=False)
class Track:
    """One object followed over time: detections in increasing frame order."""

    id: int
    detections: tuple[Detection, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "detections", tuple(self.detections))
        frames = [d.frame for d in self.detections]
        _require(frames == sorted(frames), "Track.detections", "must be in increasing frame order")

    @property
    def first_frame(self) -> int | None:
        return self.detections[0].frame if self.detections else None

    @property
    def last_frame(self) -> int | None:
        return self.detections[-1].frame if self.detections else None

    def __len__(self) -> int:
        return len(self.detections)


@dataclass(frozen=True, slots=True)
class Place:
    """Where something was seen: coordinates in degrees and/or a named zone."""

    lat: float | None = None
    lon: float | None = None
    zone: str | None = None

    def __post_init__(self) -> None:
        _require((self.lat is None) == (self.lon is None), "Place", "lat and lon go together")
        _require(self.lat is None or -90.0 <= self.lat <= 90.0, "Place.lat", "must be in [-90, 90] degrees")
        _require(self.lon is None or -180.0 <= self.lon <= 180.0, "Place.lon", "must be in [-180, 180] degrees")
        _require(self.lat is not None or bool(self.zone), "Place", "needs lat/lon or a zone")


@dataclass(frozen=True, slots=True, eq=False)
class Sighting:
    """A crop of one individual at a time and place, with its embedding."""

    id: str
    crop: npt.NDArray[np.uint8] | None = field(repr=False)
    embedding: npt.NDArray[np.float32] | None = field(repr=False)
    t: datetime | None
    place: Place | None
    source: str
    quality: float = 1.0

    def __post_init__(self) -> None:
        _require(bool(self.id), "Sighting.id", "must not be empty")
        _require_utc(self.t, "Sighting.t")
        _require(0.0 <= self.quality <= 1.0, "Sighting.quality", "must be in [0, 1]")
        if self.embedding is not None:
            _require(self.embedding.ndim == 1 and self.embedding.size > 0, "Sighting.embedding", "must be a 1-D vector")
            _require(bool(np.isfinite(self.embedding).all()), "Sighting.embedding", "must be finite")


@dataclass(frozen=True, slots=True)
class Identity:
    """One individual (a pet, a whale, a person), known by the sightings assigned to it."""

    id: str
    label: str
    sightings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(bool(self.id), "Identity.id", "must not be empty")
        object.__setattr__(self, "sightings", tuple(self.sightings))


@dataclass(frozen=True, slots=True)
class Match:
    """A candidate answer to "who is this?": ``confidence`` is a calibrated probability of same identity."""

    query: str
    candidate: str | None
    distance: float
    confidence: float
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(math.isfinite(self.distance) and self.distance >= 0, "Match.distance", "must be finite and >= 0")
        _require(0.0 <= self.confidence <= 1.0, "Match.confidence", "must be a probability in [0, 1]")

    @property
    def is_unknown(self) -> bool:
        """True for the open-set answer "none of the known individuals"."""
        return self.candidate is None


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened over a time span between actors (track ids, identity ids)."""

    kind: str
    t_start: datetime
    t_end: datetime
    actors: Sequence[str] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(bool(self.kind), "Event.kind", "must not be empty")
        _require_utc(self.t_start, "Event.t_start")
        _require_utc(self.t_end, "Event.t_end")
        _require(self.t_end >= self.t_start, "Event", "t_end must not be before t_start")
        object.__setattr__(self, "actors", tuple(self.actors))

    @property
    def duration_s(self) -> float:
        return (self.t_end - self.t_start).total_seconds()
