"""Per-track trajectories: the tracked boxes of one person, in time order, each tagged with its zone.

:func:`resample_points` puts sampled tracks on a finer time grid for the analysis. Each analysed frame stands
for one analysis step (``step_s``). At 1 fps or coarser, a customer can cross the checkout between two analysed
frames, and an episode can only start or end on a whole step. Resampling splits every step into sub-steps of
about ``grid_s``. The box moves in a straight line toward the track's box at the next analysed frame, when that
frame follows directly. Otherwise (the track's last frame, or a break before its next one) the box stays where it
was. Time seen stays the same (*n* sub-steps of ``step_s / n`` per analysed frame), and a step at or below
``grid_s`` is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sightings.core.types import Box
from sightings.solutions.retail.zones import CameraZones, foot_point

__all__ = ["TrackPoint", "Trajectory", "build_trajectories", "resample_points"]


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

    @property
    def box(self) -> Box:
        return Box(self.x1, self.y1, self.x2, self.y2)

    def iou(self, other: TrackPoint) -> float:
        """Intersection over union of the two boxes (:meth:`Box.iou`)."""
        return self.box.iou(other.box)


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


def resample_points(
    points: Sequence[tuple[int, TrackPoint]],
    *,
    step_s: float,
    grid_s: float,
    gaps: Sequence[tuple[float, float]] = (),
) -> tuple[list[tuple[int, TrackPoint]], float]:
    """``(track_id, point)`` pairs sampled every ``step_s`` → the same tracks on a grid of ``step_s / n`` seconds
    (``n = round(step_s / grid_s)``), and that sub-step (see the module doc).

    A point is interpolated toward the track's next point only when that point is the next analysed frame
    (at most 1.5 steps later) and no recording gap (``gaps``, video seconds) lies between them. With ``grid_s``
    0 or ``n`` = 1 the points come back as they are.
    """
    n = round(step_s / grid_s) if grid_s > 0 and step_s > 0 else 1
    if n <= 1:
        return list(points), step_s
    sub = step_s / n
    by_id: dict[int, list[TrackPoint]] = {}
    for track_id, point in points:
        by_id.setdefault(track_id, []).append(point)
    out: list[tuple[int, TrackPoint]] = []
    for track_id, track in by_id.items():
        track.sort(key=lambda p: p.t_s)
        for i, a in enumerate(track):
            b = track[i + 1] if i + 1 < len(track) else None
            moves = (
                b is not None
                and 0 < b.t_s - a.t_s <= 1.5 * step_s + 1e-9
                and not any(a.t_s < g_end and g_start < b.t_s for g_start, g_end in gaps)
            )
            end = b if moves and b is not None else a  # the box it moves toward (itself: it stays)
            span = end.t_s - a.t_s
            for k in range(n):
                f = k * sub / span if span else 0.0
                out.append(
                    (
                        track_id,
                        TrackPoint(
                            round(a.t_s + k * sub, 6),
                            a.x1 + (end.x1 - a.x1) * f,
                            a.y1 + (end.y1 - a.y1) * f,
                            a.x2 + (end.x2 - a.x2) * f,
                            a.y2 + (end.y2 - a.y2) * f,
                            a.frame,
                            a.score,
                        ),
                    )
                )
    return out, sub
