"""Shot-boundary scoring: precision, recall and F1 of predicted transitions against ground truth.

A hard cut (first frame of the new shot) is found by a prediction within ±``tolerance`` frames; a gradual
transition ``[first, last]`` by a prediction inside ``[first - tolerance, last + tolerance]``. Each prediction
counts once (greedy, closest first). Frame 0 is not a transition and is dropped from both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CutScore", "score_cuts"]


@dataclass(frozen=True, slots=True)
class CutScore:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: CutScore) -> CutScore:
        return CutScore(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def score_cuts(
    predicted: Sequence[int],
    cuts: Sequence[int],
    gradual: Sequence[tuple[int, int] | Sequence[int]] = (),
    *,
    tolerance: int = 2,
) -> CutScore:
    """Match predicted shot starts (frame indices) to ground-truth hard cuts and gradual spans."""
    preds = sorted({int(p) for p in predicted if p > 0})
    events: list[tuple[int, int]] = [(c - tolerance, c + tolerance) for c in cuts if c > 0]
    events += [(int(g[0]) - tolerance, int(g[1]) + tolerance) for g in gradual]
    candidates: list[tuple[float, int, int]] = []
    for ei, (lo, hi) in enumerate(events):
        centre = (lo + hi) / 2
        for pi, p in enumerate(preds):
            if lo <= p <= hi:
                candidates.append((abs(p - centre), ei, pi))
    candidates.sort()
    used_e: set[int] = set()
    used_p: set[int] = set()
    for _, ei, pi in candidates:
        if ei in used_e or pi in used_p:
            continue
        used_e.add(ei)
        used_p.add(pi)
    tp = len(used_e)
    return CutScore(tp=tp, fp=len(preds) - tp, fn=len(events) - tp)
