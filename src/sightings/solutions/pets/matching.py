"""Lost↔found matching rules on top of the identity engine: galleries, calibrated confidence, plausibility.

    matcher = build_matcher(folder, embedder="color-texture", vector_store="lancedb", rerank=True)
    rules = MatchRules(max_km=10, max_days=60, early_days=2)
    rules.where_for("lost", species="cat", t=lost_at)     # gallery filter: species (or unknown), time window
    rules.close_enough(lost_point, found_point)           # haversine distance ≤ max_km (unknown: kept)

Scores are the identity engine's two-stage score (colour-texture cosine + RootSIFT inliers,
:mod:`sightings.identity.rerank`), turned into P(same animal) by a calibrator
(:mod:`sightings.identity.calibration`). Which calibrator, best first:

1. ``<pets root>/calibration.json`` — fitted by ``PetsService.calibrate()`` on owners' feedback ("mine" /
   "not mine"), once there are at least ``MIN_FEEDBACK_PER_CLASS`` answers of each kind;
2. the **prior** below: a Platt curve fitted by ``benchmarks/bench_pets_matching.py`` on the calibration half of
   the lions data (one photo per individual "lost", the rest "found"), for the default embedder and score only;
3. none (another embedder, no feedback yet): confidences are raw scores, marked uncalibrated, never "sure".
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import ConfigError, NotFoundError
from sightings.solutions.pets.posts import CameraSighting, MatchRecord, PostRecord

__all__ = [
    "MIN_FEEDBACK_PER_CLASS",
    "PRIOR_PLATT",
    "MatchQuery",
    "MatchRules",
    "build_matcher",
    "haversine_km",
    "load_calibrator_or_prior",
    "match_records",
    "point_distance_km",
    "prior_calibrator",
]

EARTH_RADIUS_KM = 6371.0088
MIN_FEEDBACK_PER_CLASS = 10
PRIOR_PLATT: dict[tuple[str, str], tuple[float, float]] = {
    # (embedder, score kind) → (slope, intercept) of P = 1 / (1 + exp(-(slope·score + intercept))),
    # from benchmarks/bench_pets_matching.py (lions, calibration half; docs/pets.md)
    ("color-texture", "two-stage"): (24.5096, -25.0897),
    ("color-texture", "cosine"): (32.4689, -32.0188),
}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def point_distance_km(a: tuple[float | None, float | None], b: tuple[float | None, float | None]) -> float | None:
    """Distance between two (lat, lon) points, ``None`` when either is unknown."""
    if a[0] is None or a[1] is None or b[0] is None or b[1] is None:
        return None
    return haversine_km(a[0], a[1], b[0], b[1])


@dataclass(frozen=True, slots=True)
class MatchRules:
    """Plausibility of a lost/found pair: same species (or unknown), near enough, found in the right time window."""

    max_km: float = 10.0
    max_days: float = 60.0
    early_days: float = 2.0

    def __post_init__(self) -> None:
        if not (self.max_km > 0 and self.max_days > 0 and self.early_days >= 0):
            raise ConfigError("max_km and max_days must be > 0, early_days >= 0", where="pets match rules")

    def time_window(self, kind: str, t: datetime) -> tuple[datetime, datetime]:
        """When the other side may be dated: for a lost post, found posts/sightings from ``t - early_days`` to
        ``t + max_days``; for a found post or a sighting, lost posts from ``t - max_days`` to ``t + early_days``."""
        early, late = timedelta(days=self.early_days), timedelta(days=self.max_days)
        return (t - early, t + late) if kind == "lost" else (t - late, t + early)

    def where_for(self, kind: str, *, species: str | None, t: datetime) -> dict[str, Any]:
        """The gallery filter for a query from a ``kind`` post (or sighting) of ``species`` at ``t``."""
        lo, hi = self.time_window(kind, t)
        where: dict[str, Any] = {"t": (lo.timestamp(), hi.timestamp())}
        if species is not None:
            where["species"] = [species, "unknown"]
        return where

    def close_enough(self, distance_km: float | None, max_km: float | None = None) -> bool:
        """Unknown distances are kept (a post without a place may still be the pet)."""
        return distance_km is None or distance_km <= (self.max_km if max_km is None else max_km)


def prior_calibrator(embedder: str, score_kind: str) -> Any:
    """The documented prior for the default embedder and score (see the module docs), or ``None``."""
    from sightings.identity.calibration import Calibrator

    params = PRIOR_PLATT.get((embedder, score_kind))
    if params is None:
        return None
    return Calibrator(
        "platt", embedder=embedder, score_kind=score_kind, platt_slope=params[0], platt_intercept=params[1]
    )


def load_calibrator_or_prior(folder: Path, *, embedder: str, score_kind: str) -> tuple[Any, str]:
    """The calibrator to use and where it came from: ``"feedback"``, ``"prior"`` or ``"none"``."""
    from sightings.identity.calibration import load_calibrator

    try:
        return load_calibrator(folder, embedder=embedder, score_kind=score_kind), "feedback"
    except (NotFoundError, ConfigError):
        pass
    prior = prior_calibrator(embedder, score_kind)
    return prior, "prior" if prior is not None else "none"


def build_matcher(
    folder: Path,
    *,
    embedder: str = "color-texture",
    vector_store: str = "lancedb",
    vector_store_url: str | None = None,
    collection: str = "pets",
    rerank: bool = True,
    rerank_max_side: int = 400,
) -> Any:
    """A :class:`~sightings.identity.matcher.Matcher` over the gallery in ``folder`` (vectors + RootSIFT keypoints)."""
    from sightings.core.registry import EMBEDDERS, LOCAL_MATCHERS, VECTOR_STORES
    from sightings.identity.matcher import LocalFeatureStore, Matcher
    from sightings.vision.embed.local_features import PRE_STAMP_SIGNATURE

    folder.mkdir(parents=True, exist_ok=True)
    if vector_store == "qdrant" and vector_store_url:
        gallery = VECTOR_STORES.create("qdrant", url=vector_store_url, collection=collection)
    else:
        gallery = VECTOR_STORES.create(
            vector_store, path=folder / ("gallery.npz" if vector_store == "numpy" else "gallery")
        )
    return Matcher(
        EMBEDDERS.create(embedder),
        gallery,
        embedder_name=embedder,
        local_matcher=LOCAL_MATCHERS.create("rootsift", max_side=rerank_max_side) if rerank else None,
        local_store=LocalFeatureStore(folder / "local", unstamped_as=PRE_STAMP_SIGNATURE) if rerank else None,
    )


@dataclass(frozen=True, slots=True, eq=False)
class MatchQuery:
    """One side of a lost/found pair being matched: a new post or sighting and its enrolled crops."""

    kind: str  # "lost" | "found" | "sighting"
    id: str
    species: str | None
    t: datetime
    lat: float | None
    lon: float | None
    crops: tuple[tuple[str, npt.NDArray[np.uint8], npt.NDArray[np.float32]], ...]  # (embedding id, pixels, vector)


def match_records(
    query: MatchQuery,
    best: Mapping[str, tuple[Any, str]],
    posts: Mapping[str, PostRecord],
    sightings: Mapping[str, CameraSighting],
    *,
    rules: MatchRules,
    precision_threshold: float,
) -> list[MatchRecord]:
    """Matches for ``query`` from its best engine answer per candidate (``{candidate: (Match, query crop id)}``):
    copies and implausible places dropped, the lost post always on the lost side, best first."""
    records: list[MatchRecord] = []
    now = datetime.now(UTC)
    lost_side = query.kind == "lost"
    for candidate, (m, eid) in best.items():
        target: PostRecord | CameraSighting | None = posts.get(candidate) or sightings.get(candidate)
        if target is None or (isinstance(target, PostRecord) and target.duplicate_of is not None):
            continue
        distance = point_distance_km((query.lat, query.lon), (target.lat, target.lon))
        if not rules.close_enough(distance):
            continue
        calibrated = bool(m.evidence.get("calibrated", False))
        confidence = float(m.confidence)
        if lost_side:
            kind = "sighting" if isinstance(target, CameraSighting) else "post"
        else:
            kind = "sighting" if query.kind == "sighting" else "post"
        records.append(
            MatchRecord(
                id=uuid.uuid4().hex,
                lost_post_id=query.id if lost_side else candidate,
                target_kind=kind,
                target_id=candidate if lost_side else query.id,
                confidence=round(confidence, 6),
                score=round(float(m.evidence["score"]), 6),
                calibrated=calibrated,
                sure=calibrated and confidence >= precision_threshold,
                created_at=now,
                distance_km=None if distance is None else round(distance, 3),
                lost_embedding_id=eid if lost_side else m.evidence.get("embedding_id"),
                target_embedding_id=m.evidence.get("embedding_id") if lost_side else eid,
            )
        )
    records.sort(key=lambda r: -r.confidence)
    return records
