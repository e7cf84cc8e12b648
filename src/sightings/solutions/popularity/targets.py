"""Targets: how much a count grows from snapshot 1 to snapshot 1 + horizon, on the log1p scale.

Snapshots come at irregular times, so the count at t = t1 + horizon is found by one rule (per metric, over the
snapshots where that metric is present):

1. a snapshot exactly at t: its value;
2. else the last snapshot before t and the first after t, when **both** lie within ``tolerance_h`` (36 h) of t:
   linear interpolation in time between them;
3. else the nearest snapshot within ``snap_h`` (6 h) of t, on either side: its value;
4. else unknown (NaN; the row is left out of that target).

growth = value(t) - value(t1). A negative growth (the platform removed views) is clipped to 0 and counted.
target = log1p(growth). Snapshot 1 is the video's earliest snapshot; nothing after it becomes a feature.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sightings.solutions.popularity.snapshots import Snapshot

__all__ = ["HorizonRule", "TargetValue", "horizon_target", "value_at"]


@dataclass(frozen=True, slots=True)
class HorizonRule:
    """Tolerances of the value-at-time rule (see the module docs)."""

    tolerance_h: float = 36.0
    snap_h: float = 6.0


@dataclass(frozen=True, slots=True)
class TargetValue:
    """A target (NaN when unknown), and whether a negative growth was clipped to 0."""

    value: float
    clipped: bool = False
    method: str = "missing"


def value_at(times: list[datetime], values: list[float], t: datetime, rule: HorizonRule) -> tuple[float, str]:
    """The count at ``t`` by the rule in the module docs: (value or NaN, 'exact'|'interpolated'|'nearest'|'missing')."""
    i = bisect.bisect_left(times, t)
    if i < len(times) and times[i] == t:
        return values[i], "exact"
    tol = timedelta(hours=rule.tolerance_h)
    before = i - 1 if i > 0 else None
    after = i if i < len(times) else None
    if before is not None and after is not None and t - times[before] <= tol and times[after] - t <= tol:
        span = (times[after] - times[before]).total_seconds()
        w = (t - times[before]).total_seconds() / span
        return values[before] + w * (values[after] - values[before]), "interpolated"
    snap = timedelta(hours=rule.snap_h)
    near = [j for j in (before, after) if j is not None and abs(times[j] - t) <= snap]
    if near:
        j = min(near, key=lambda k: (abs(times[k] - t), k))
        return values[j], "nearest"
    return math.nan, "missing"


def horizon_target(series: list[Snapshot], metric: str, horizon_days: int, rule: HorizonRule) -> TargetValue:
    """log1p growth of ``metric`` from the first snapshot to first + ``horizon_days`` (series sorted by time)."""
    if not series:
        return TargetValue(math.nan)
    first = series[0]
    start = first.count(metric)
    if math.isnan(start):
        return TargetValue(math.nan)
    present = [s for s in series if not math.isnan(s.count(metric))]
    times = [s.at for s in present]
    values = [s.count(metric) for s in present]
    end, method = value_at(times, values, first.at + timedelta(days=horizon_days), rule)
    if math.isnan(end):
        return TargetValue(math.nan)
    growth = end - start
    if growth < 0:
        return TargetValue(0.0, clipped=True, method=method)
    return TargetValue(math.log1p(growth), method=method)
