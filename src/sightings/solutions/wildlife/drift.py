"""Drift of the live predictions against the species' calibration baseline: ok / warn / alert.

Over the last ``window`` predictions of a species:

| signal | what | warn | alert |
|---|---|---|---|
| rejection rate | share rejected by the gate | ≥ 0.30 | ≥ 0.50 |
| confidence drop | baseline mean confidence − recent mean (accepted + unknown) | ≥ 0.10 | ≥ 0.20 |
| PSI | population stability index per projection, the mean (baseline-quantile bins: n/20, 3-10) | ≥ 0.10 | ≥ 0.25 |
| KS | two-sample Kolmogorov-Smirnov statistic per projection, the largest (needs ≥ 30 recent) | p < 0.01 | p < 0.001 |

KS levels are significance levels (Bonferroni over the projections): the statistic must pass
``c(α) · sqrt((n + m) / (n · m))``, so a small window does not raise alarms from sampling noise alone; PSI bins
shrink with the window for the same reason.

The embedding projections are fixed random projections (:func:`~sightings.solutions.wildlife.species.project`) of
the global descriptor: the baseline is a sample of the gallery's, stored by calibration. The level is the worst
signal's; with fewer than ``min_recent`` predictions the level is ``ok`` with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["DriftReport", "drift_report", "ks_statistic", "psi"]

LEVELS = ("ok", "warn", "alert")
THRESHOLDS = {"rejection_rate": (0.30, 0.50), "confidence_drop": (0.10, 0.20), "psi": (0.10, 0.25)}
KS_ALPHA = (0.01, 0.001)


def psi(baseline: npt.ArrayLike, recent: npt.ArrayLike, bins: int = 10) -> float:
    """Population stability index of ``recent`` against ``baseline`` on the baseline's quantile bins."""
    b, r = np.asarray(baseline, np.float64).ravel(), np.asarray(recent, np.float64).ravel()
    if len(b) < 2 or len(r) < 1:
        return 0.0
    edges = np.unique(np.quantile(b, np.linspace(0, 1, bins + 1)[1:-1]))
    pb = np.bincount(np.searchsorted(edges, b, side="right"), minlength=len(edges) + 1) / len(b)
    pr = np.bincount(np.searchsorted(edges, r, side="right"), minlength=len(edges) + 1) / len(r)
    pb, pr = np.clip(pb, 1e-4, None), np.clip(pr, 1e-4, None)
    return float(np.sum((pr - pb) * np.log(pr / pb)))


def ks_statistic(baseline: npt.ArrayLike, recent: npt.ArrayLike) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (largest gap between the two empirical CDFs)."""
    b, r = np.sort(np.asarray(baseline, np.float64).ravel()), np.sort(np.asarray(recent, np.float64).ravel())
    if not len(b) or not len(r):
        return 0.0
    grid = np.concatenate([b, r])
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    cdf_r = np.searchsorted(r, grid, side="right") / len(r)
    return float(np.max(np.abs(cdf_b - cdf_r)))


def _level(name: str, value: float | None) -> str:
    if value is None:
        return "ok"
    warn, alert = THRESHOLDS[name]
    return "alert" if value >= alert else "warn" if value >= warn else "ok"


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift signals of one species and their levels."""

    species: str
    level: str
    window: int
    recent: int
    rejection_rate: float | None
    mean_confidence: float | None
    baseline_confidence: float | None
    confidence_drop: float | None
    psi_mean: float | None
    ks_max: float | None
    levels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def drift_report(
    species: str,
    predictions: Sequence[Any],
    *,
    baseline_projection: Sequence[Sequence[float]] = (),
    baseline_confidence: float | None = None,
    window: int = 200,
    min_recent: int = 20,
) -> DriftReport:
    """Drift of ``predictions`` (newest first, ``PredictionRecord``-like) against the baseline."""
    recent = list(predictions)[:window]
    notes: list[str] = []
    n = len(recent)
    rejection = sum(p.status == "rejected" for p in recent) / n if n else None
    answered = [p.confidence for p in recent if p.status != "rejected" and p.confidence is not None]
    mean_conf = float(np.mean(answered)) if answered else None
    drop = None if mean_conf is None or baseline_confidence is None else baseline_confidence - mean_conf
    psi_mean: float | None = None
    ks_max: float | None = None
    projections = np.array([p.projection for p in recent if p.projection], np.float64)
    base = np.asarray(baseline_projection, np.float64)
    ks_level = "ok"
    if base.size and len(projections) and base.shape[1] == projections.shape[1]:
        dims = base.shape[1]
        bins = int(np.clip(len(projections) // 20, 3, 10))
        psi_mean = float(np.mean([psi(base[:, j], projections[:, j], bins) for j in range(dims)]))
        if len(projections) >= 30:
            ks_max = max(ks_statistic(base[:, j], projections[:, j]) for j in range(dims))
            n_recent, n_base = len(projections), len(base)  # not ``n``: that stays the number of recent answers
            scale = np.sqrt((n_recent + n_base) / (n_recent * n_base))
            warn, alert = (np.sqrt(-0.5 * np.log(a / dims / 2)) * scale for a in KS_ALPHA)
            ks_level = "alert" if ks_max >= alert else "warn" if ks_max >= warn else "ok"
    elif not base.size:
        notes.append("no baseline: run `sightings wildlife calibrate` (or enrol with calibration)")
    levels = {
        "rejection_rate": _level("rejection_rate", rejection),
        "confidence_drop": _level("confidence_drop", drop),
        "psi": _level("psi", psi_mean),
        "ks": ks_level,
    }
    level = max(levels.values(), key=LEVELS.index)
    if n < min_recent:
        notes.append(f"only {n} recent predictions (< {min_recent}): too few to judge drift")
        level = "ok"
    return DriftReport(
        species, level, window, n, rejection, mean_conf, baseline_confidence, drop, psi_mean, ks_max, levels, notes
    )
