"""What the catalog stores, as plain frozen dataclasses (no SQLAlchemy here, so anyone may import them).

An :class:`IdentityRecord` is one individual; a :class:`SightingRecord` is one embedding of one crop of one
media item, keyed by ``embedding_id`` (the id its vector has in the gallery), optionally assigned to an identity.
Times are timezone-aware and converted to UTC on construction; a naive time is an :class:`InputError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sightings.core.errors import InputError
from sightings.core.types import Box, Place

__all__ = ["IdentityRecord", "SightingRecord", "check_attributes", "to_utc"]


def to_utc(t: datetime, where: str) -> datetime:
    """``t`` converted to UTC; a naive datetime (no tzinfo) is an :class:`InputError` naming ``where``."""
    if not isinstance(t, datetime):
        raise InputError(f"must be a datetime, got {type(t).__name__}", where=where)
    if t.tzinfo is None or t.utcoffset() is None:
        raise InputError("must be timezone-aware (UTC); got a naive datetime", where=where)
    return t.astimezone(UTC)


def check_attributes(attributes: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A plain-dict copy of ``attributes`` after checking it round-trips through JSON (string keys, finite numbers)."""
    if not isinstance(attributes, Mapping):
        raise InputError(f"must be a mapping, got {type(attributes).__name__}", where=where)
    out = dict(attributes)
    bad_keys = [k for k in out if not isinstance(k, str)]
    if bad_keys:
        raise InputError(f"keys must be strings, got {bad_keys[0]!r}", where=where)
    try:
        json.dumps(out, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"must be JSON-serialisable: {exc}", where=where) from None
    return out


def _check_text(value: str | None, where: str, *, required: bool = False) -> None:
    if value is None:
        if required:
            raise InputError("is required", where=where)
        return
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"must be a non-empty string, got {value!r}", where=where)


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """One individual (a pet, a lion, a person); ``owner``: whose record it is, ``source``: where it came from."""

    id: str
    label: str
    species: str | None = None
    owner: str | None = None
    source: str | None = None
    created_at: datetime | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_text(self.id, "IdentityRecord.id", required=True)
        _check_text(self.label, "IdentityRecord.label", required=True)
        for name in ("species", "owner", "source"):
            _check_text(getattr(self, name), f"IdentityRecord.{name}")
        if self.created_at is not None:
            object.__setattr__(self, "created_at", to_utc(self.created_at, "IdentityRecord.created_at"))
        object.__setattr__(self, "attributes", check_attributes(self.attributes, "IdentityRecord.attributes"))


@dataclass(frozen=True, slots=True)
class SightingRecord:
    """One embedding of one crop: where the pixels are (``media_uri`` + ``frame`` + ``box`` in pixels), who it is
    (``identity_id``, ``None`` while unassigned), whose and from where (``owner``, ``source``), when (``t``, UTC) and
    where (``place``), which side was seen, how good the crop is (``quality`` in [0, 1]), and which embedder made
    the vector (``embedder``, ``dim``)."""

    embedding_id: str
    media_uri: str | None = None
    box: Box | None = None
    frame: int | None = None
    identity_id: str | None = None
    owner: str | None = None
    source: str | None = None
    t: datetime | None = None
    place: Place | None = None
    species: str | None = None
    side: str | None = None
    quality: float | None = None
    embedder: str | None = None
    dim: int | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_text(self.embedding_id, "SightingRecord.embedding_id", required=True)
        for name in ("media_uri", "identity_id", "owner", "source", "species", "side", "embedder"):
            _check_text(getattr(self, name), f"SightingRecord.{name}")
        if self.box is not None and not isinstance(self.box, Box):
            raise InputError(f"must be a Box, got {type(self.box).__name__}", where="SightingRecord.box")
        if self.place is not None and not isinstance(self.place, Place):
            raise InputError(f"must be a Place, got {type(self.place).__name__}", where="SightingRecord.place")
        if self.frame is not None and (not isinstance(self.frame, int) or self.frame < 0):
            raise InputError(f"must be an int >= 0, got {self.frame!r}", where="SightingRecord.frame")
        if self.dim is not None and (not isinstance(self.dim, int) or self.dim <= 0):
            raise InputError(f"must be an int > 0, got {self.dim!r}", where="SightingRecord.dim")
        if self.quality is not None:
            q = self.quality
            if not isinstance(q, int | float) or not math.isfinite(q) or not 0.0 <= q <= 1.0:
                raise InputError(f"must be a number in [0, 1], got {q!r}", where="SightingRecord.quality")
            object.__setattr__(self, "quality", float(q))
        if self.t is not None:
            object.__setattr__(self, "t", to_utc(self.t, "SightingRecord.t"))
        object.__setattr__(self, "attributes", check_attributes(self.attributes, "SightingRecord.attributes"))
