"""The naive baseline: the median growth (log1p scale) of training videos in the same age bucket.

A bucket with no training rows falls back to the median of all training rows. It uses no content, channel or
snapshot counts — only how old the video was at snapshot 1 — so a model has to beat it with what it learned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sightings.solutions.popularity.schema import AGE_BUCKETS

__all__ = ["MedianByAgeBaseline"]


@dataclass(frozen=True, slots=True)
class MedianByAgeBaseline:
    """Median target per age bucket (+ the overall median)."""

    medians: dict[str, float]
    overall: float

    @classmethod
    def fit(cls, buckets: np.ndarray, y: np.ndarray) -> MedianByAgeBaseline:
        overall = float(np.median(y)) if y.size else 0.0
        medians = {}
        for name, _lo, _hi in AGE_BUCKETS:
            sel = y[buckets == name]
            medians[name] = float(np.median(sel)) if sel.size else overall
        return cls(medians, overall)

    def predict(self, buckets: np.ndarray) -> np.ndarray:
        return np.array([self.medians.get(str(b), self.overall) for b in buckets], dtype=np.float64)

    def to_dict(self) -> dict[str, object]:
        return {"medians": {k: round(v, 6) for k, v in self.medians.items()}, "overall": round(self.overall, 6)}
