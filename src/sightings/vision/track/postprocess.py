"""Offline clean-up of finished tracks: fill short gaps by linear interpolation, then smooth the boxes.

A tracker that loses a person for a few frames (a missed detection, a brief occlusion) and finds them again
keeps the id, but the frames in between have no box: each is a miss. When the whole video is processed before
the tracks are used (``sightings track``, the batch pipelines) those gaps can be filled afterwards, as
ByteTrack's own evaluation does: for each track, every analysed frame between two of its boxes that are at
most ``max_gap_s`` apart gets a box linearly interpolated in time. Filled rows are marked ``interpolated`` and
carry the lower of the two neighbouring scores. Live uses (the street-camera watcher) skip this step.

A detector's boxes jitter from frame to frame around the person (a little wider, a little shorter); a box that
is off by a few pixels can fall under the 0.5 IoU a match needs. :func:`smooth_tracks` replaces each box by the
mean of its track's boxes within ``half_window_s`` seconds either side (a centred moving average in time, so at
sparse sampling, when no neighbour is that close, boxes stay as they are).
"""

from __future__ import annotations

import bisect
import itertools
import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from sightings.core.errors import ConfigError

__all__ = [
    "DEFAULT_SMOOTH_S",
    "InterpolatableRow",
    "TrackedBoxRow",
    "check_seconds",
    "interpolate_gaps",
    "median_step_s",
    "smooth_tracks",
]

DEFAULT_SMOOTH_S = 0.2
"""Half-window (s) of :func:`smooth_tracks` for ``sightings track``, batch and retail (chosen on PETS09 1–200)."""


class TrackedBoxRow(Protocol):
    """A tracked box in one frame (read-only attributes; frozen dataclasses qualify): what linking reads."""

    @property
    def frame(self) -> int: ...
    @property
    def t_s(self) -> float: ...
    @property
    def track_id(self) -> int: ...
    @property
    def x1(self) -> float: ...
    @property
    def y1(self) -> float: ...
    @property
    def x2(self) -> float: ...
    @property
    def y2(self) -> float: ...


class InterpolatableRow(TrackedBoxRow, Protocol):
    """A tracked box with its score: what gap interpolation reads (filled rows carry the neighbours' score)."""

    @property
    def score(self) -> float: ...


def median_step_s(times_s: Iterable[float]) -> float:
    """Seconds between analysed frames: the median time between consecutive distinct times (0 with fewer than two).
    The linker's sampling step, the backward veto's step and BoT-SORT's foreground step all read it."""
    times = sorted(set(times_s))
    return float(statistics.median(b - a for a, b in itertools.pairwise(times))) if len(times) > 1 else 0.0


def check_seconds(value: float, where: str) -> float:
    """``value`` as a float when it is a finite number of seconds >= 0, else a ConfigError naming ``where``."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ConfigError(f"must be a number of seconds >= 0, got {value!r}", where=where)
    return float(value)


R = TypeVar("R", bound=InterpolatableRow)
T = TypeVar("T", bound=TrackedBoxRow)


def interpolate_gaps(
    rows: Sequence[R],
    frames: Sequence[tuple[int, float]],
    *,
    max_gap_s: float,
) -> list[R]:
    """``rows`` plus interpolated rows for gaps of at most ``max_gap_s`` seconds inside each track.

    ``frames`` lists the analysed frames as ``(index, t_s)`` in presentation order; only those are filled.
    New rows are built with ``dataclasses.replace`` on the earlier neighbour (``interpolated=True`` when the
    row type has that field). The result is sorted by (frame, track_id).
    """
    import dataclasses

    check_seconds(max_gap_s, "interpolate_gap_s")
    out = list(rows)
    if max_gap_s > 0 and rows:
        order = [i for i, _ in frames]
        times = dict(frames)
        first = rows[0]
        flag = dataclasses.is_dataclass(first) and any(f.name == "interpolated" for f in dataclasses.fields(first))
        by_track: dict[int, list[R]] = {}
        for r in rows:
            by_track.setdefault(r.track_id, []).append(r)
        for track_rows in by_track.values():
            track_rows.sort(key=lambda r: r.frame)
            for a, b in itertools.pairwise(track_rows):
                if b.t_s - a.t_s > max_gap_s + 1e-9:
                    continue
                lo, hi = bisect.bisect_right(order, a.frame), bisect.bisect_left(order, b.frame)
                for index in order[lo:hi]:
                    t = times[index]
                    w = (t - a.t_s) / (b.t_s - a.t_s) if b.t_s > a.t_s else 0.5
                    changes: dict[str, object] = {
                        "frame": index,
                        "t_s": t,
                        "score": min(a.score, b.score),
                        "x1": a.x1 + w * (b.x1 - a.x1),
                        "y1": a.y1 + w * (b.y1 - a.y1),
                        "x2": a.x2 + w * (b.x2 - a.x2),
                        "y2": a.y2 + w * (b.y2 - a.y2),
                    }
                    if flag:
                        changes["interpolated"] = True
                    out.append(dataclasses.replace(a, **changes))  # type: ignore[type-var]
    out.sort(key=lambda r: (r.frame, r.track_id))
    return out


def smooth_tracks(rows: Sequence[T], *, half_window_s: float) -> list[T]:
    """``rows`` with each box replaced by the mean of its track's boxes within ``half_window_s`` s either side.

    Only the box corners change (built with ``dataclasses.replace``); frames, ids and scores stay. 0 = off.
    The result is sorted by (frame, track_id).
    """
    import dataclasses

    import numpy as np

    check_seconds(half_window_s, "smooth_s")
    if not half_window_s or not rows:
        return sorted(rows, key=lambda r: (r.frame, r.track_id))
    by_track: dict[int, list[T]] = {}
    for r in rows:
        by_track.setdefault(r.track_id, []).append(r)
    out: list[T] = []
    for track_rows in by_track.values():
        track_rows.sort(key=lambda r: r.frame)
        times = np.array([r.t_s for r in track_rows], np.float64)
        boxes = np.array([(r.x1, r.y1, r.x2, r.y2) for r in track_rows], np.float64)
        lo = np.searchsorted(times, times - half_window_s - 1e-9, side="left")
        hi = np.searchsorted(times, times + half_window_s + 1e-9, side="right")
        sums = np.vstack([np.zeros((1, 4)), np.cumsum(boxes, axis=0)])
        means = (sums[hi] - sums[lo]) / (hi - lo)[:, None]
        for r, (x1, y1, x2, y2) in zip(track_rows, means.tolist(), strict=True):
            out.append(dataclasses.replace(r, x1=x1, y1=y1, x2=x2, y2=y2))  # type: ignore[type-var]
    out.sort(key=lambda r: (r.frame, r.track_id))
    return out
