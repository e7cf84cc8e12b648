"""Per-track trajectories: the tracked boxes of one person, in time order, each tagged with its zone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sightings.solutions.retail.zones import CameraZones, foot_point

__all__ = ["TrackPoint", "Trajectory", "build_trajectories"]


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One sampled box of a track: seconds from the video start, pixel box, frame index, zone kind ('' = none)."""

    t_s: float
    x1: float
    y1: float
    x2: float
    y2: float
    frame: int = 0
    score: float = 1.0
    zone: str = ""

    @property
    def foot(self) -> tuple[float, float]:
        return foot_point(self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True, slots=True)
class Trajectory:
    """All points of one track id, sorted by time."""

    track_id: int
    points: tuple[TrackPoint, ...]

    @property
    def start_s(self) -> float:
        return self.points[0].t_s

    @property
    def end_s(self) -> float:
        return self.points[-1].t_s

    def presence_s(self, step_s: float) -> float:
        """Seconds seen: each sampled point stands for one analysis step."""
        return len(self.points) * step_s

    def zone_share(self, kind: str) -> float:
        """Share of the points whose foot point is in a zone of ``kind``."""
        return sum(p.zone == kind for p in self.points) / len(self.points) if self.points else 0.0


def build_trajectories(
    rows: Iterable[tuple[int, TrackPoint]], zones: CameraZones | None = None
) -> dict[int, Trajectory]:
    """``(track_id, point)`` pairs → trajectories by id; points get their zone from ``zones`` when given."""
    by_id: dict[int, list[TrackPoint]] = {}
    for track_id, point in rows:
        if zones is not None and zones.zones:
            zone = zones.kind_of_box(point.x1, point.y1, point.x2, point.y2)
            tagged = TrackPoint(point.t_s, point.x1, point.y1, point.x2, point.y2, point.frame, point.score, zone)
        else:
            tagged = point
        by_id.setdefault(track_id, []).append(tagged)
    return {tid: Trajectory(tid, tuple(sorted(pts, key=lambda p: p.t_s))) for tid, pts in sorted(by_id.items())}
