"""Scores on the log1p scale: MAE, RMSE, Spearman's rank correlation, overall and by video-age bucket."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sightings.solutions.popularity.schema import AGE_BUCKETS

__all__ = ["score", "score_by_age", "spearman"]


def spearman(y: np.ndarray, pred: np.ndarray) -> float:
    """Spearman's rho (SciPy); NaN for fewer than 3 rows or a constant side."""
    if y.size < 3 or np.all(y == y[0]) or np.all(pred == pred[0]):
        return math.nan
    from scipy.stats import spearmanr

    return float(spearmanr(y, pred).statistic)


def _round(value: float) -> float | None:
    return None if not math.isfinite(value) else round(float(value), 6)


def score(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """``n``, ``mae``, ``rmse``, ``spearman`` (None where undefined), rounded to 6 decimals."""
    if y.size == 0:
        return {"n": 0, "mae": None, "rmse": None, "spearman": None}
    err = pred - y
    return {
        "n": int(y.size),
        "mae": _round(float(np.mean(np.abs(err)))),
        "rmse": _round(float(np.sqrt(np.mean(err**2)))),
        "spearman": _round(spearman(y, pred)),
    }


def score_by_age(y: np.ndarray, pred: np.ndarray, buckets: np.ndarray) -> dict[str, Any]:
    """:func:`score` overall and per age bucket (0-24h, 24-48h, 48-72h, >72h)."""
    out: dict[str, Any] = {"overall": score(y, pred)}
    for name, _lo, _hi in AGE_BUCKETS:
        sel = buckets == name
        out[name] = score(y[sel], pred[sel])
    return out
