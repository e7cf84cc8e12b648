"""Time-ordered channel-group split: no channel in two splits, later channels in later splits.

A group is a channel (a video without a channel is its own group). Groups are ordered by the time of their first
snapshot 1 (ties by name) and assigned in that order: the first groups to ``train`` until it holds its share of
the rows, then ``valid``, then ``test``. So every test channel started after every train channel started, and no
channel's videos are on both sides (a model cannot learn a channel and be scored on it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sightings.core.errors import InputError

__all__ = ["SPLITS", "Split", "time_group_split"]

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True, slots=True)
class Split:
    """Row indices of each split, and the groups in each."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    groups: dict[str, list[str]]

    def rows(self, name: str) -> np.ndarray:
        rows: np.ndarray = getattr(self, name)
        return rows

    def summary(self) -> dict[str, dict[str, int]]:
        return {n: {"rows": int(self.rows(n).size), "groups": len(self.groups[n])} for n in SPLITS}


def time_group_split(
    times: np.ndarray, groups: np.ndarray, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> Split:
    """Split rows (``times``: sortable snapshot-1 times, ``groups``: group keys) as in the module docs."""
    if len(times) != len(groups):
        raise InputError("times and groups differ in length", where="split")
    if any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise InputError(f"split fractions must be ≥ 0 and sum to 1, got {list(fractions)}", where="split")
    first: dict[str, str] = {}
    count: dict[str, int] = {}
    for t, g in zip(times, groups, strict=True):
        key = str(g)
        first[key] = min(first.get(key, str(t)), str(t))
        count[key] = count.get(key, 0) + 1
    order = sorted(first, key=lambda g: (first[g], g))
    n = len(times)
    bounds = (fractions[0] * n, (fractions[0] + fractions[1]) * n)
    assigned: dict[str, str] = {}
    filled = 0
    for g in order:
        # a group goes where the middle of its rows falls: shares stay close to the fractions
        mid = filled + count[g] / 2
        assigned[g] = "train" if mid <= bounds[0] else ("valid" if mid <= bounds[1] else "test")
        filled += count[g]
    labels = np.array([assigned[str(g)] for g in groups])
    idx = {name: np.flatnonzero(labels == name) for name in SPLITS}
    members = {name: sorted(g for g in order if assigned[g] == name) for name in SPLITS}
    return Split(idx["train"], idx["valid"], idx["test"], members)
