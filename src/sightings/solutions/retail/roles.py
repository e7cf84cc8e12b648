"""Who is a seller: counter evidence first, the longest-present track as the baseline.

Rules (thresholds in :class:`~sightings.solutions.retail.config.RoleOptions`):

1. **Zones**: every track present ≥ ``min_seller_s`` whose foot point is in a *counter* zone for at least
   ``counter_share`` of its points is a seller (several sellers at once are normal).
2. **Baseline**: if the camera has no counter zone, or no track passes rule 1, the single longest-present track
   (present ≥ ``min_seller_s``) is the seller.

3. **Shift schedule** (``shifts``, when given; replaces rule 2): for each shift, among the tracks seen during it,
   the one with the strongest evidence — seconds in a counter zone during the shift (seconds present, for a
   camera without a counter zone) — is that shift's seller, named by the shift's ``seller_id``; it must reach
   ``counter_share × min(min_seller_s, the shift's overlap with the video)``. Shifts are taken in time order and a
   track serves one shift. A rule-1 seller that no shift picked is a fragment of a scheduled seller when exactly
   one shift covers its whole span (the tracker broke that seller's track): it gets that shift's name; else it
   keeps its per-video :func:`seller_name` (someone behind the counter off the schedule). Several shifts at once =
   several sellers.

Every other track present ≥ ``min_customer_s`` is a customer; shorter tracks are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sightings.solutions.retail.config import RoleOptions
from sightings.solutions.retail.trajectories import Trajectory

__all__ = ["RoleAssignment", "ShiftWindow", "assign_roles", "seller_name"]


def seller_name(track_id: int, video: str = "") -> str:
    """The seller id written to the warehouse when no shift schedule names them: ``<camera>/<start>/track-<id>``
    with ``video`` (the camera and the run's UTC start, as in its run id), so that sellers of different videos,
    who are different tracks, never add up as one; ``track-<id>`` without."""
    return f"{video}/track-{track_id}" if video else f"track-{track_id}"


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    """A shift in seconds from the video start (clipped to the video by the caller)."""

    seller_id: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    sellers: tuple[int, ...]
    customers: tuple[int, ...]
    method: str
    """'zones' (counter evidence), 'longest' (baseline), 'schedule' or 'none' (nobody long enough)"""
    names: tuple[tuple[int, str], ...] = ()
    """seller track → seller id from the schedule (tracks not listed are named by :func:`seller_name`)"""
    video: str = ""
    """``<camera>/<UTC start>`` of the video, for :func:`seller_name` (set by the pipeline)"""

    def seller_id(self, track_id: int) -> str:
        """The seller's id in the warehouse: the schedule's name, else :func:`seller_name`."""
        for tid, name in self.names:
            if tid == track_id:
                return name
        return seller_name(track_id, self.video)

    def role_of(self, track_id: int) -> str:
        if track_id in self.sellers:
            return "seller"
        if track_id in self.customers:
            return "customer"
        return "unknown"


def _schedule_sellers(
    trajectories: Mapping[int, Trajectory],
    counter_sellers: Sequence[int],
    shifts: Sequence[ShiftWindow],
    *,
    step_s: float,
    options: RoleOptions,
    has_counter: bool,
) -> dict[int, str]:
    """Seller track → shift seller id (rule 3 of the module doc)."""
    named: dict[int, str] = {}
    for shift in sorted(shifts, key=lambda s: (s.start_s, s.seller_id)):
        overlap = shift.end_s - shift.start_s
        need = options.counter_share * min(options.min_seller_s, overlap)
        best: tuple[float, float, int] | None = None
        for tid, traj in trajectories.items():
            if tid in named:
                continue
            during = [p for p in traj.points if shift.start_s <= p.t_s < shift.end_s]
            if not during:
                continue
            evidence = step_s * (sum(p.zone == "counter" for p in during) if has_counter else len(during))
            key = (evidence, len(during) * step_s, -tid)
            if evidence >= need and evidence > 0 and (best is None or key > best):
                best = key
        if best is not None:
            named[-best[2]] = shift.seller_id
    for tid in counter_sellers:
        if tid in named:
            continue
        traj = trajectories[tid]
        covering = {s.seller_id for s in shifts if s.start_s <= traj.start_s and traj.end_s < s.end_s}
        if len(covering) == 1:
            named[tid] = covering.pop()
    return named


def assign_roles(
    trajectories: Mapping[int, Trajectory],
    *,
    step_s: float,
    options: RoleOptions,
    has_counter: bool,
    shifts: Sequence[ShiftWindow] | None = None,
) -> RoleAssignment:
    """Sellers and customers among ``trajectories`` (points ``step_s`` apart) by the rules in the module doc.

    ``shifts`` (None = no schedule) switches on rule 3; an empty list means nobody is scheduled on this video.
    """
    long_enough = {tid: t for tid, t in trajectories.items() if t.presence_s(step_s) >= options.min_seller_s}
    sellers: tuple[int, ...] = ()
    method = "none"
    names: tuple[tuple[int, str], ...] = ()
    if has_counter:
        sellers = tuple(
            sorted(tid for tid, t in long_enough.items() if t.zone_share("counter") >= options.counter_share)
        )
        method = "zones" if sellers else method
    if shifts is not None:
        named = _schedule_sellers(
            trajectories, sellers, shifts, step_s=step_s, options=options, has_counter=has_counter
        )
        sellers = tuple(sorted(set(sellers) | set(named)))
        names = tuple(sorted(named.items()))
        method = "schedule" if named else method
    elif not sellers and long_enough:
        longest = max(long_enough.values(), key=lambda t: (t.presence_s(step_s), -t.track_id))
        sellers, method = (longest.track_id,), "longest"
    customers = tuple(
        sorted(
            tid
            for tid, t in trajectories.items()
            if tid not in sellers and t.presence_s(step_s) >= options.min_customer_s
        )
    )
    return RoleAssignment(sellers, customers, method, names)
