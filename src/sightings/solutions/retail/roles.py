"""Who is a seller: counter evidence first, the longest-present track as the baseline.

Rules (thresholds in :class:`~sightings.solutions.retail.config.RoleOptions`):

1. **Zones**: every track present ≥ ``min_seller_s`` whose foot point is in a *counter* zone for at least
   ``counter_share`` of its points is a seller (several sellers at once are normal).
2. **Baseline**: if the camera has no counter zone, or no track passes rule 1, the single longest-present track
   (present ≥ ``min_seller_s``) is the seller.

Every other track present ≥ ``min_customer_s`` is a customer; shorter tracks are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sightings.solutions.retail.config import RoleOptions
from sightings.solutions.retail.trajectories import Trajectory

__all__ = ["RoleAssignment", "assign_roles", "seller_name"]


def seller_name(track_id: int) -> str:
    """The seller id written to the warehouse when no shift schedule names them."""
    return f"track-{track_id}"


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    sellers: tuple[int, ...]
    customers: tuple[int, ...]
    method: str
    """'zones' (counter evidence), 'longest' (baseline) or 'none' (nobody long enough)"""

    def role_of(self, track_id: int) -> str:
        if track_id in self.sellers:
            return "seller"
        if track_id in self.customers:
            return "customer"
        return "unknown"


def assign_roles(
    trajectories: Mapping[int, Trajectory], *, step_s: float, options: RoleOptions, has_counter: bool
) -> RoleAssignment:
    """Sellers and customers among ``trajectories`` (points ``step_s`` apart) by the rules in the module doc."""
    long_enough = {tid: t for tid, t in trajectories.items() if t.presence_s(step_s) >= options.min_seller_s}
    sellers: tuple[int, ...] = ()
    method = "none"
    if has_counter:
        sellers = tuple(
            sorted(tid for tid, t in long_enough.items() if t.zone_share("counter") >= options.counter_share)
        )
        method = "zones" if sellers else method
    if not sellers and long_enough:
        longest = max(long_enough.values(), key=lambda t: (t.presence_s(step_s), -t.track_id))
        sellers, method = (longest.track_id,), "longest"
    customers = tuple(
        sorted(
            tid
            for tid, t in trajectories.items()
            if tid not in sellers and t.presence_s(step_s) >= options.min_customer_s
        )
    )
    return RoleAssignment(sellers, customers, method)
