"""Conversions between catalog rows, typed records and the loose ``MetadataStore`` mappings.

A ``MetadataStore`` record (``put``/``get``/``find``) is a flat mapping: the keys in :data:`RECORD_KEYS` land in
columns of the ``sightings`` table, every other key in its ``attributes`` JSON. ``box`` is ``[x1, y1, x2, y2]``
pixels; ``t`` a timezone-aware datetime; ``identity`` an identity id.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sightings.core.errors import InputError
from sightings.core.types import Box, Place
from sightings.identity.catalog.models import IdentityRow, SightingRow
from sightings.identity.catalog.records import IdentityRecord, SightingRecord

__all__ = [
    "COLUMN_OF_KEY",
    "RECORD_KEYS",
    "check_lengths",
    "identity_from_row",
    "mapping_from_sighting",
    "sighting_from_mapping",
    "sighting_from_row",
    "sighting_values",
]

# MetadataStore record key → sightings column (``box`` and lat/lon/zone are handled as a unit too).
COLUMN_OF_KEY: dict[str, str] = {
    "uri": "media_uri",
    "frame": "frame",
    "identity": "identity_id",
    "owner": "owner",
    "source": "source",
    "t": "t",
    "lat": "lat",
    "lon": "lon",
    "zone": "zone",
    "species": "species",
    "side": "side",
    "quality": "quality",
    "embedder": "embedder",
    "dim": "dim",
}
RECORD_KEYS = frozenset([*COLUMN_OF_KEY, "box"])


def check_lengths(row: IdentityRow | SightingRow) -> None:
    """Refuse strings longer than their column (SQLite would keep them, PostgreSQL would refuse them)."""
    table = type(row).__tablename__
    for column in type(row).__table__.columns:
        limit = getattr(column.type, "length", None)
        value = getattr(row, column.key)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise InputError(f"longer than {limit} characters ({len(value)})", where=f"{table}.{column.key}")


def sighting_values(rec: SightingRecord) -> dict[str, Any]:
    """Column values of the ``sightings`` row for ``rec``."""
    box = rec.box
    place = rec.place
    return {
        "embedding_id": rec.embedding_id,
        "media_uri": rec.media_uri,
        "frame": rec.frame,
        "x1": None if box is None else box.x1,
        "y1": None if box is None else box.y1,
        "x2": None if box is None else box.x2,
        "y2": None if box is None else box.y2,
        "identity_id": rec.identity_id,
        "owner": rec.owner,
        "source": rec.source,
        "t": rec.t,
        "lat": None if place is None else place.lat,
        "lon": None if place is None else place.lon,
        "zone": None if place is None else place.zone,
        "species": rec.species,
        "side": rec.side,
        "quality": rec.quality,
        "embedder": rec.embedder,
        "dim": rec.dim,
        "attributes": dict(rec.attributes),
    }


def sighting_from_row(row: SightingRow) -> SightingRecord:
    box = (
        None
        if row.x1 is None or row.y1 is None or row.x2 is None or row.y2 is None
        else (Box(row.x1, row.y1, row.x2, row.y2))
    )
    place = None if row.lat is None and row.zone is None else Place(row.lat, row.lon, row.zone)
    return SightingRecord(
        embedding_id=row.embedding_id,
        media_uri=row.media_uri,
        box=box,
        frame=row.frame,
        identity_id=row.identity_id,
        owner=row.owner,
        source=row.source,
        t=row.t,
        place=place,
        species=row.species,
        side=row.side,
        quality=row.quality,
        embedder=row.embedder,
        dim=row.dim,
        attributes=dict(row.attributes or {}),
    )


def identity_from_row(row: IdentityRow) -> IdentityRecord:
    return IdentityRecord(
        id=row.id,
        label=row.label,
        species=row.species,
        owner=row.owner,
        source=row.source,
        created_at=row.created_at,
        attributes=dict(row.attributes or {}),
    )


def _box_from_value(value: Any) -> Box:
    if isinstance(value, Box):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 4:
        try:
            coords = [float(v) for v in value]
        except (TypeError, ValueError):
            coords = []
        if len(coords) == 4 and all(math.isfinite(c) for c in coords):
            return Box(*coords)
    raise InputError(f"must be [x1, y1, x2, y2] in pixels, got {value!r}", where="record.box")


def sighting_from_mapping(record_id: str, record: Mapping[str, Any]) -> SightingRecord:
    """A typed record from a loose ``MetadataStore`` mapping (unknown keys go to ``attributes``)."""
    if not isinstance(record, Mapping):
        raise InputError(f"a record must be a mapping, got {type(record).__name__}", where=record_id)
    place = None
    if any(record.get(k) is not None for k in ("lat", "lon", "zone")):
        place = Place(record.get("lat"), record.get("lon"), record.get("zone"))
    box = None if record.get("box") is None else _box_from_value(record["box"])
    return SightingRecord(
        embedding_id=record_id,
        media_uri=record.get("uri"),
        box=box,
        frame=record.get("frame"),
        identity_id=record.get("identity"),
        owner=record.get("owner"),
        source=record.get("source"),
        t=record.get("t"),
        place=place,
        species=record.get("species"),
        side=record.get("side"),
        quality=record.get("quality"),
        embedder=record.get("embedder"),
        dim=record.get("dim"),
        attributes={k: v for k, v in record.items() if k not in RECORD_KEYS},
    )


def mapping_from_sighting(rec: SightingRecord) -> dict[str, Any]:
    """The loose mapping for ``rec``: the set fields under their record keys, then the attributes."""
    out: dict[str, Any] = {}
    values = sighting_values(rec)
    for key, column in COLUMN_OF_KEY.items():
        if values[column] is not None:
            out[key] = values[column]
    if rec.box is not None:
        out["box"] = list(rec.box.xyxy)
    out.update(rec.attributes)
    return out
