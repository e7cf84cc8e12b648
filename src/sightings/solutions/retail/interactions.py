"""Seller–customer interaction episodes: close enough for long enough.

At every analysed frame where both tracks are seen, the pair is *close* when their box foot points are at most
``distance_px`` apart. Close frames form an episode; two episodes of the same pair separated by at most
``gap_tolerance_s`` are merged. An episode runs from its first close frame to its last close frame **plus one
analysis step** (each sampled frame stands for ``step_s`` seconds), so 10 close frames at 1 fps last 10 s.
Episodes shorter than ``min_duration_s`` are dropped.

Hysteresis (``release_factor`` > 1): a pair that was close at the previous analysed frame they were both seen in
(no more than ``gap_tolerance_s`` of unseen time before, no recording gap between) stays close while its distance
is at most ``distance × release_factor``; so foot points jittering around the threshold do not cut an episode in
pieces. A pair becomes close only within ``distance``.

With a floor plane (``to_floor``: image point → metres, from the camera's homography) the distance is measured on
the floor and compared with ``distance_m`` instead. An episode never spans a recording gap (``gaps``: video
seconds where there was no picture): close frames on both sides of a gap are two episodes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sightings.solutions.retail.config import InteractionOptions
from sightings.solutions.retail.trajectories import Trajectory

__all__ = ["Episode", "FloorProjection", "find_episodes"]

FloorProjection = Callable[[float, float], tuple[float, float]]
"""Image point (pixels) → floor point (metres)."""


@dataclass(frozen=True, slots=True)
class Episode:
    """One interaction: seller and customer track ids, seconds from the video start, the customer's usual zone."""

    seller_track: int
    customer_track: int
    start_s: float
    end_s: float
    zone: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _continues(t0: float, t1: float, *, step_s: float, tolerance_s: float, gaps: Sequence[tuple[float, float]]) -> bool:
    """Whether a pair seen close at ``t0`` and again at ``t1`` is one stretch: at most ``tolerance_s`` unobserved
    between the two sampled frames (each stands for ``step_s``), and no recording gap between them."""
    return t1 - t0 - step_s <= tolerance_s + 1e-9 and not any(t0 < g_end and g_start < t1 for g_start, g_end in gaps)


def _close_times(
    seller: Trajectory,
    customer: Trajectory,
    *,
    limit: float,
    release: float,
    step_s: float,
    tolerance_s: float,
    to_floor: FloorProjection | None,
    gaps: Sequence[tuple[float, float]],
) -> list[tuple[float, str]]:
    """(time, customer zone) of the frames where the pair is close: within ``limit``, or within ``release`` when
    it was close at the previous frame both were seen in and this frame :func:`_continues` that stretch."""
    at = {round(p.t_s, 3): p for p in seller.points}
    out: list[tuple[float, str]] = []
    last_close: float | None = None
    for p in customer.points:  # in time order (Trajectory)
        s = at.get(round(p.t_s, 3))
        if s is None:
            continue
        a, b = (s.foot, p.foot) if to_floor is None else (to_floor(*s.foot), to_floor(*p.foot))
        held = last_close is not None and _continues(
            last_close, p.t_s, step_s=step_s, tolerance_s=tolerance_s, gaps=gaps
        )
        if math.dist(a, b) <= (release if held else limit):
            out.append((p.t_s, p.zone))
            last_close = p.t_s
        else:
            last_close = None
    return out


def _pair_episodes(
    seller: Trajectory,
    customer: Trajectory,
    *,
    step_s: float,
    options: InteractionOptions,
    to_floor: FloorProjection | None,
    gaps: Sequence[tuple[float, float]],
) -> list[Episode]:
    limit = options.distance_px if to_floor is None else options.distance_m
    close = _close_times(
        seller,
        customer,
        limit=limit,
        release=limit * options.release_factor,
        step_s=step_s,
        tolerance_s=options.gap_tolerance_s,
        to_floor=to_floor,
        gaps=gaps,
    )
    episodes: list[Episode] = []
    run: list[tuple[float, str]] = []

    def flush() -> None:
        if run:
            start, end = run[0][0], run[-1][0] + step_s
            if end - start >= options.min_duration_s - 1e-9:
                zone = Counter(z for _, z in run).most_common(1)[0][0]
                episodes.append(Episode(seller.track_id, customer.track_id, start, end, zone))

    for t, zone in close:
        split = run and not _continues(run[-1][0], t, step_s=step_s, tolerance_s=options.gap_tolerance_s, gaps=gaps)
        if split:
            flush()
            run = []
        run.append((t, zone))
    flush()
    return episodes


def find_episodes(
    trajectories: Mapping[int, Trajectory],
    sellers: Iterable[int],
    customers: Iterable[int],
    *,
    step_s: float,
    options: InteractionOptions,
    to_floor: FloorProjection | None = None,
    gaps: Sequence[tuple[float, float]] = (),
) -> list[Episode]:
    """Every episode between a seller and a customer, sorted by start time (see the module doc)."""
    customer_ids = list(customers)
    out: list[Episode] = []
    for sid in sellers:
        for cid in customer_ids:
            out.extend(
                _pair_episodes(
                    trajectories[sid],
                    trajectories[cid],
                    step_s=step_s,
                    options=options,
                    to_floor=to_floor,
                    gaps=gaps,
                )
            )
    return sorted(out, key=lambda e: (e.start_s, e.seller_track, e.customer_track))
