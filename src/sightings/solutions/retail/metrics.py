"""Per seller / hour metrics of one video (long format for the warehouse ``metrics`` table) and day summaries.

Store-level rows have ``seller_id = ''``; hours are UTC starts of hour of the absolute time.

| name | seller_id '' (store/camera) | seller_id = a seller |
|---|---|---|
| customers | customers first seen in the hour | — |
| served_customers | customers whose first episode starts in the hour | distinct customers of this seller |
| interactions | episodes started in the hour | this seller's episodes |
| successful_interactions | episodes that ended in a purchase | this seller's |
| interaction_seconds | total episode duration | this seller's |
| revenue | amount of receipts joined to a customer | amount credited to this seller's episodes |
| purchases | receipts joined to a customer | — |
| purchases/revenue_with_consultation | joined receipts of customers with an episode before | — |
| purchases/revenue_without_consultation | the other joined receipts | — |
| unjoined_receipts | receipts in the video's span with nobody at the checkout | — |

Derived (by :func:`summarise`, from sums, so they average correctly over hours, cameras, days):
interaction_ratio = served_customers / the store's customers (for a seller: the share of all customers that
seller served; the warehouse view ``v_seller_day`` computes the same); avg_purchase_with/without_consultation =
revenue / purchases of each kind; success_rate = successful_interactions / interactions; avg_interaction_s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sightings.solutions.retail.purchases import JoinedReceipt, ScoredEpisode
from sightings.solutions.retail.roles import RoleAssignment
from sightings.solutions.retail.trajectories import Trajectory

__all__ = ["MetricValue", "compute_metrics", "summarise"]


@dataclass(frozen=True, slots=True)
class MetricValue:
    seller_id: str
    hour: datetime
    name: str
    value: float


def _hour(start: datetime, t_s: float) -> datetime:
    return (start + timedelta(seconds=t_s)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def compute_metrics(
    *,
    video_start: datetime,
    trajectories: Mapping[int, Trajectory],
    roles: RoleAssignment,
    episodes: Sequence[ScoredEpisode],
    joined: Sequence[JoinedReceipt],
) -> list[MetricValue]:
    """The metric rows of one video (see the module doc for each name)."""
    sums: dict[tuple[str, datetime, str], float] = defaultdict(float)

    def add(seller: str, t_s: float, name: str, value: float = 1.0) -> None:
        sums[(seller, _hour(video_start, t_s), name)] += value

    for cid in roles.customers:
        add("", trajectories[cid].start_s, "customers")
    first_episode: dict[int, float] = {}
    first_with_seller: dict[tuple[str, int], float] = {}  # (seller id, customer): fragments of one seller count once
    for s in episodes:
        e = s.episode
        sid = roles.seller_id(e.seller_track)
        first_episode[e.customer_track] = min(first_episode.get(e.customer_track, e.start_s), e.start_s)
        key = (sid, e.customer_track)
        first_with_seller[key] = min(first_with_seller.get(key, e.start_s), e.start_s)
        for seller in ("", sid):
            add(seller, e.start_s, "interactions")
            add(seller, e.start_s, "successful_interactions", float(s.purchased))
            add(seller, e.start_s, "interaction_seconds", e.duration_s)
        if s.amount:
            add(sid, e.start_s, "revenue", s.amount)
    for t in first_episode.values():
        add("", t, "served_customers")
    for (sid, _), t in first_with_seller.items():
        add(sid, t, "served_customers")
    for jr in joined:
        if jr.customer_track is None:
            add("", jr.t_s, "unjoined_receipts")
            continue
        consulted = jr.customer_track in first_episode and first_episode[jr.customer_track] <= jr.t_s
        kind = "with_consultation" if consulted else "without_consultation"
        add("", jr.t_s, "purchases")
        add("", jr.t_s, "revenue", jr.receipt.amount)
        add("", jr.t_s, f"purchases_{kind}")
        add("", jr.t_s, f"revenue_{kind}", jr.receipt.amount)
    return [MetricValue(seller, hour, name, value) for (seller, hour, name), value in sorted(sums.items())]


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


ACTIVITY_COUNTS = ("customers", "served_customers", "interactions", "successful_interactions", "interaction_seconds")
"""Counted whenever a video was analysed: none of them is 0 by leaving a row out (rows are written per event)."""
PURCHASE_COUNTS = (
    "purchases",
    "revenue",
    "purchases_with_consultation",
    "revenue_with_consultation",
    "purchases_without_consultation",
    "revenue_without_consultation",
    "unjoined_receipts",
)
"""Counted when receipts fell in the analysed time (a purchase or an unjoined receipt says so); else unknown."""
SELLER_COUNTS = ("served_customers", "interactions", "successful_interactions", "interaction_seconds")


def summarise(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Metric rows (``seller_id``, ``name``, ``value``) summed per seller id, with the derived ratios added.

    Counts with no rows are 0, not missing (a missing one reads as "no data" on the dashboard and drops out of an
    accuracy comparison): the activity counts always, the purchase counts when there were receipts to join."""
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        totals[str(row["seller_id"])][str(row["name"])] += float(row["value"])
    out: dict[str, dict[str, Any]] = {}
    store_customers = totals[""]["customers"] if "" in totals else 0.0
    with_receipts = "" in totals and any(name in totals[""] for name in ("purchases", "unjoined_receipts"))
    for seller, t in sorted(totals.items()):
        zeros = (*ACTIVITY_COUNTS, *(PURCHASE_COUNTS if with_receipts else ())) if seller == "" else SELLER_COUNTS
        for name in zeros:
            t[name] += 0.0
        if seller and with_receipts:
            t["revenue"] += 0.0
        summary: dict[str, Any] = dict(sorted(t.items()))
        summary["success_rate"] = _ratio(t["successful_interactions"], t["interactions"])
        summary["avg_interaction_s"] = _ratio(t["interaction_seconds"], t["interactions"])
        # one definition everywhere (the report, the dashboard, the v_seller_day view): served customers over the
        # store's customers — for a seller, the share of all customers that seller served
        summary["interaction_ratio"] = _ratio(t["served_customers"], store_customers)
        if seller == "":
            summary["avg_purchase_with_consultation"] = _ratio(
                t["revenue_with_consultation"], t["purchases_with_consultation"]
            )
            summary["avg_purchase_without_consultation"] = _ratio(
                t["revenue_without_consultation"], t["purchases_without_consultation"]
            )
        out[seller] = summary
    return out
