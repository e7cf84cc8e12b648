"""Read-side answers of the pets service: a post with its crops, a lost post's matches ready to show.

``match_views`` is ``getCurrentTopMatches``: every stored match of a lost post joined with its found post or
camera sighting, with the distances, filtered (district, radius, since, sure only) and sorted
(confidence | time | distance).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sightings.core.errors import InputError
from sightings.solutions.pets.matching import point_distance_km
from sightings.solutions.pets.posts import AnimalRecord, CameraSighting, MatchRecord, PostRecord

__all__ = ["SORTS", "MatchView", "PostDetails", "SightingOutcome", "match_views"]

SORTS = ("confidence", "time", "distance")


@dataclass(frozen=True, slots=True)
class PostDetails:
    """A stored post, its animal crops, the copies linked to it and how many matches it has."""

    post: PostRecord
    animals: tuple[AnimalRecord, ...]
    duplicates: tuple[str, ...]
    match_count: int


@dataclass(frozen=True, slots=True)
class SightingOutcome:
    """What :meth:`PetsService.add_sighting` stored and matched."""

    sighting: CameraSighting
    matches: tuple[MatchRecord, ...]
    duplicate: bool = False
    """True: a near-duplicate of ``sighting`` (same camera, moments before) was already stored; nothing was added."""


@dataclass(frozen=True, slots=True)
class MatchView:
    """One candidate for a lost pet, ready for a table, a map marker or a bot message."""

    match_id: str
    target_kind: str  # "post" (a found post) | "sighting" (a street camera)
    target_id: str
    confidence: float
    calibrated: bool
    sure: bool
    score: float
    seen_at: datetime
    lat: float | None
    lon: float | None
    district: str | None
    place: str | None  # the found post's address, or "camera <id>"
    species: str | None
    breed: str | None
    link: str | None
    photo_id: str | None  # the crop to show (``GET /v1/pets/photos/{photo_id}``); None when not kept
    distance_km: float | None  # from where the pet was lost
    distance_from_home_km: float | None  # from ``home`` (default: where it was lost)


def _target_view(
    m: MatchRecord,
    target: PostRecord | CameraSighting,
    lost: PostRecord,
    home: tuple[float, float] | None,
    stored: Collection[str],
) -> MatchView:
    seen = target.seen_at if isinstance(target, CameraSighting) else target.posted_at
    place = f"camera {target.camera_id}" if isinstance(target, CameraSighting) else target.address
    link = None if isinstance(target, CameraSighting) else target.link
    point = (target.lat, target.lon)
    home_point = home if home is not None else (lost.lat, lost.lon)
    return MatchView(
        match_id=m.id,
        target_kind=m.target_kind,
        target_id=m.target_id,
        confidence=m.confidence,
        calibrated=m.calibrated,
        sure=m.sure,
        score=m.score,
        seen_at=seen,
        lat=target.lat,
        lon=target.lon,
        district=target.district,
        place=place,
        species=target.species,
        breed=None,
        link=link,
        photo_id=m.target_embedding_id if m.target_embedding_id in stored else None,
        distance_km=_rounded(point_distance_km((lost.lat, lost.lon), point)),
        distance_from_home_km=_rounded(point_distance_km(home_point, point)),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def match_views(
    lost: PostRecord,
    matches: Sequence[MatchRecord],
    posts: Mapping[str, PostRecord],
    sightings: Mapping[str, CameraSighting],
    stored: Collection[str],
    *,
    district: str | None = None,
    max_km: float | None = None,
    since: datetime | None = None,
    sort: str = "confidence",
    limit: int = 50,
    sure_only: bool = False,
    home: tuple[float, float] | None = None,
) -> list[MatchView]:
    """The matches of ``lost`` as views, filtered and sorted (see the module docs)."""
    if sort not in SORTS:
        raise InputError(f"must be one of {', '.join(SORTS)}, got {sort!r}", where="sort")
    if limit < 1:
        raise InputError(f"must be >= 1, got {limit}", where="limit")
    if since is not None and (since.tzinfo is None or since.utcoffset() is None):
        raise InputError("must be timezone-aware", where="since")
    views: list[MatchView] = []
    for m in matches:
        target: PostRecord | CameraSighting | None = (
            posts.get(m.target_id) if m.target_kind == "post" else sightings.get(m.target_id)
        )
        if target is None:
            continue
        view = _target_view(m, target, lost, home, stored)
        if sure_only and not view.sure:
            continue
        if district is not None and (view.district or "").casefold() != district.casefold():
            continue
        if max_km is not None and (view.distance_from_home_km is None or view.distance_from_home_km > max_km):
            continue
        if since is not None and view.seen_at < since:
            continue
        views.append(view)
    if sort == "confidence":
        views.sort(key=lambda v: (-v.confidence, v.match_id))
    elif sort == "time":
        views.sort(key=lambda v: (-v.seen_at.timestamp(), v.match_id))
    else:
        far = float("inf")
        views.sort(key=lambda v: (far if v.distance_from_home_km is None else v.distance_from_home_km, -v.confidence))
    return views[:limit]
