"""Re-identification metrics from a query × gallery similarity matrix (larger = more alike).

    cmc = cmc_curve(sim, query_ids, gallery_ids)                # rank-k accuracy, k = 1..n_gallery
    ap = average_precision(sim, query_ids, gallery_ids)         # per query; mAP = ap.mean()
    scores, correct = top1_decisions(sim, query_ids, gallery_ids)   # open-set decisions
    tpr = tpr_at_precision(scores, correct, n_known, 0.95)
    ece, bins = expected_calibration_error(probabilities, labels)

Ranking is by gallery *image* (the usual CMC/mAP); candidate pairs and open-set decisions are by gallery
*identity* (an identity scores the best of its images), which is what a matcher answers. Ties keep gallery order.
Plots use matplotlib's Agg backend, imported inside the plotting functions.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import atomic_write_bytes
from sightings.core.errors import InputError

__all__ = [
    "ReliabilityBins",
    "average_precision",
    "check_similarity",
    "cmc_curve",
    "expected_calibration_error",
    "identity_scores",
    "open_set_curve",
    "plot_cmc",
    "plot_reliability",
    "precision_recall_at",
    "top1_decisions",
    "topk_pairs",
    "tpr_at_precision",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ECE_BINS = 15


@dataclass(frozen=True, slots=True)
class ReliabilityBins:
    """Equal-width probability bins: mean confidence, observed accuracy and count per bin (empty bins: NaN, 0)."""

    edges: FloatArray  # (bins + 1,)
    confidence: FloatArray  # (bins,)
    accuracy: FloatArray  # (bins,)
    count: npt.NDArray[np.int64]  # (bins,)


def check_similarity(similarity: npt.ArrayLike, n_query: int, n_gallery: int) -> FloatArray:
    """``similarity`` as a finite float64 (n_query, n_gallery) matrix, or an InputError."""
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.shape != (n_query, n_gallery):
        raise InputError(f"expected shape ({n_query}, {n_gallery}), got {sim.shape}", where="similarity")
    if not np.isfinite(sim).all():
        raise InputError("contains NaN or infinite values", where="similarity")
    return sim


def _relevance(similarity: FloatArray, query_ids: npt.ArrayLike, gallery_ids: npt.ArrayLike) -> BoolArray:
    """(n_query, n_gallery) matrix of "same identity", with columns in descending-score order per row."""
    q, g = np.asarray(query_ids), np.asarray(gallery_ids)
    check_similarity(similarity, len(q), len(g))
    order = np.argsort(-similarity, axis=1, kind="stable")
    return np.asarray(g[order] == q[:, None], dtype=bool)


def cmc_curve(similarity: FloatArray, query_ids: npt.ArrayLike, gallery_ids: npt.ArrayLike) -> FloatArray:
    """Fraction of queries with a right gallery image within the top k, for k = 1..n_gallery.

    Queries whose identity has no gallery image are left out (they belong to the open-set metrics).
    """
    rel = _relevance(similarity, query_ids, gallery_ids)
    rel = rel[rel.any(axis=1)]
    if len(rel) == 0:
        raise InputError("no query has a matching gallery image", where="similarity")
    first = rel.argmax(axis=1)
    hits = np.zeros(rel.shape[1], np.float64)
    np.add.at(hits, first, 1.0)
    return np.cumsum(hits) / len(rel)


def average_precision(similarity: FloatArray, query_ids: npt.ArrayLike, gallery_ids: npt.ArrayLike) -> FloatArray:
    """Average precision of each query that has at least one right gallery image (mean of precision@hit)."""
    rel = _relevance(similarity, query_ids, gallery_ids)
    rel = rel[rel.any(axis=1)]
    if len(rel) == 0:
        raise InputError("no query has a matching gallery image", where="similarity")
    hits = np.cumsum(rel, axis=1)
    ranks = np.arange(1, rel.shape[1] + 1)
    precision_at_hit = np.where(rel, hits / ranks, 0.0)
    return np.asarray(precision_at_hit.sum(axis=1) / rel.sum(axis=1), np.float64)


def identity_scores(similarity: FloatArray, gallery_ids: npt.ArrayLike) -> tuple[npt.NDArray[np.str_], FloatArray]:
    """Gallery identities (sorted) and each query's score for each: the best score over that identity's images."""
    g = np.asarray(gallery_ids).astype(str)
    names, inverse = np.unique(g, return_inverse=True)
    out = np.full((similarity.shape[0], len(names)), -np.inf)
    for j in range(len(names)):
        out[:, j] = similarity[:, inverse == j].max(axis=1)
    return names, out


def topk_pairs(
    similarity: FloatArray, query_ids: npt.ArrayLike, gallery_ids: npt.ArrayLike, k: int = 5
) -> tuple[FloatArray, BoolArray]:
    """Scores and same-identity labels of each query's top-``k`` candidate identities (flattened, query-major)."""
    if k < 1:
        raise InputError(f"must be >= 1, got {k}", where="k")
    q = np.asarray(query_ids).astype(str)
    check_similarity(similarity, len(q), len(np.asarray(gallery_ids)))
    names, scores = identity_scores(similarity, gallery_ids)
    kk = min(k, len(names))
    top = np.argsort(-scores, axis=1, kind="stable")[:, :kk]
    top_scores = np.take_along_axis(scores, top, axis=1)
    labels = names[top] == q[:, None]
    return top_scores.ravel(), labels.ravel()


def top1_decisions(
    similarity: FloatArray, query_ids: npt.ArrayLike, gallery_ids: npt.ArrayLike
) -> tuple[FloatArray, BoolArray]:
    """Per query: the best candidate identity's score, and whether that identity is the query's own."""
    scores, labels = topk_pairs(similarity, query_ids, gallery_ids, k=1)
    return scores, labels


def open_set_curve(
    scores: npt.ArrayLike, correct: npt.ArrayLike, n_known: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Thresholds (descending), and the precision and TPR of accepting every decision scoring ≥ each.

    A decision is "accepted" when its score reaches the threshold; it is right when ``correct`` (a known query
    given its own identity). Precision = right / accepted; TPR = right / ``n_known`` (known queries). Unknown
    queries and wrong identities accepted are the errors. Only thresholds between distinct scores are listed.
    """
    s, c = np.asarray(scores, np.float64), np.asarray(correct, bool)
    if s.shape != c.shape or s.ndim != 1:
        raise InputError("scores and correct must be 1-D arrays of the same length", where="open_set_curve")
    if n_known < 1:
        raise InputError("needs at least one known query", where="n_known")
    order = np.argsort(-s, kind="stable")
    s, c = s[order], c[order]
    right = np.cumsum(c)
    accepted = np.arange(1, len(s) + 1)
    last_of_tie = np.r_[s[1:] != s[:-1], True] if len(s) else np.zeros(0, bool)
    return s[last_of_tie], (right / accepted)[last_of_tie], (right / n_known)[last_of_tie]


def tpr_at_precision(scores: npt.ArrayLike, correct: npt.ArrayLike, n_known: int, precision: float = 0.95) -> float:
    """The highest open-set TPR over thresholds whose precision is at least ``precision`` (0 when none is)."""
    _, prec, tpr = open_set_curve(scores, correct, n_known)
    ok = prec >= precision - 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def precision_recall_at(
    scores: npt.ArrayLike, correct: npt.ArrayLike, n_known: int, threshold: float
) -> tuple[float, float, int]:
    """Precision (1.0 when nothing is accepted), recall (TPR) and the number accepted at ``threshold``."""
    s, c = np.asarray(scores, np.float64), np.asarray(correct, bool)
    accepted = s >= threshold
    n_acc = int(accepted.sum())
    right = int((accepted & c).sum())
    precision = right / n_acc if n_acc else 1.0
    return precision, right / max(1, n_known), n_acc


def expected_calibration_error(
    probabilities: npt.ArrayLike, labels: npt.ArrayLike, bins: int = ECE_BINS
) -> tuple[float, ReliabilityBins]:
    """ECE over ``bins`` equal-width bins of [0, 1]: Σ (n_b / n) · |accuracy_b − confidence_b|."""
    p, y = np.asarray(probabilities, np.float64), np.asarray(labels, np.float64)
    if p.shape != y.shape or p.ndim != 1 or len(p) == 0:
        raise InputError("probabilities and labels must be non-empty 1-D arrays of one length", where="ece")
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise InputError("probabilities must lie in [0, 1]", where="ece")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.int64)
    conf_sum = np.bincount(which, weights=p, minlength=bins)
    acc_sum = np.bincount(which, weights=y, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.where(count > 0, conf_sum / count, np.nan)
        accuracy = np.where(count > 0, acc_sum / count, np.nan)
    gap = np.abs(np.nan_to_num(accuracy) - np.nan_to_num(confidence))
    ece = float((count / len(p) * gap).sum())
    return ece, ReliabilityBins(edges, confidence, accuracy, count)


def _save_png(fig: Any, path: str | Path) -> Path:
    """Save a matplotlib figure as PNG atomically (the file appears whole or not at all), then close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def plot_cmc(path: str | Path, curves: dict[str, FloatArray], *, max_rank: int = 20, title: str = "CMC") -> Path:
    """Write a CMC plot (rank-k accuracy against k) of one or more named curves as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for name, curve in curves.items():
        n = min(max_rank, len(curve))
        ax.plot(np.arange(1, n + 1), curve[:n], marker="o", markersize=3, label=f"{name} (rank-1 {curve[0]:.3f})")
    ax.set(xlabel="rank k", ylabel="identification rate (rank-k)", ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return _save_png(fig, path)


def plot_reliability(path: str | Path, bins: ReliabilityBins, *, ece: float, title: str = "Reliability") -> Path:
    """Write a reliability diagram (observed accuracy per confidence bin, with bin counts) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_count) = plt.subplots(
        2, 1, figsize=(5, 5.5), dpi=100, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    centers = (bins.edges[:-1] + bins.edges[1:]) / 2
    width = bins.edges[1] - bins.edges[0]
    filled = bins.count > 0
    ax.bar(centers[filled], bins.accuracy[filled], width=width * 0.9, alpha=0.7, label="observed accuracy")
    ax.plot(bins.confidence[filled], bins.accuracy[filled], "o", color="black", markersize=3, label="bin mean")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.set(ylabel="fraction same individual", xlim=(0, 1), ylim=(0, 1.02), title=f"{title} (ECE {ece:.3f})")
    ax.legend(loc="upper left", fontsize=8)
    ax_count.bar(centers, bins.count, width=width * 0.9, color="grey")
    ax_count.set(xlabel="predicted probability", ylabel="pairs")
    ax_count.set_yscale("symlog")
    fig.tight_layout()
    return _save_png(fig, path)
