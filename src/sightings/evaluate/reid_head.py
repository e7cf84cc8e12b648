"""Fit a metric head on one part of a re-ID split and measure its gain on the other (`sightings identity fit-head`).

    result = fit_head_on_split(features, dataset, split, base_embedder="color-texture")
    result.before.map, result.after.map        # closed-set metrics on the report part, which the head never saw

The head is fitted on every image of the split's calibration part. When no shrinkage is given it is chosen by an
inner, identity-disjoint split *of the fitting part* (half its identities fit, the other half score by mAP), so
the reported part plays no role in any choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError
from sightings.evaluate.reid import ClosedSetMetrics, closed_set_metrics, score_matrix
from sightings.evaluate.reid_data import IndexArray, ReidDataset, ReidSplit, make_protocol
from sightings.identity.head import MetricHead, fit_head

__all__ = ["SHRINKAGE_GRID", "HeadFit", "choose_shrinkage", "fit_head_on_split"]

SHRINKAGE_GRID = (0.1, 0.3, 0.5, 0.7, 0.9)


@dataclass(frozen=True, slots=True, eq=False)
class HeadFit:
    """The fitted head and closed-set metrics on the report part before (base features) and after (projected)."""

    head: MetricHead
    before: ClosedSetMetrics
    after: ClosedSetMetrics
    fit_samples: int
    fit_identities: int
    report_queries: int
    shrinkage_scores: dict[float, float] = field(default_factory=dict)  # inner-split mAP per candidate


def _closed(
    features: npt.NDArray[Any], ids: npt.NDArray[np.str_], query: IndexArray, gallery: IndexArray
) -> ClosedSetMetrics:
    return closed_set_metrics(score_matrix(features[query], features[gallery]), ids[query], ids[gallery])


def choose_shrinkage(
    features: npt.NDArray[Any],
    ids: npt.NDArray[np.str_],
    fit_idx: IndexArray,
    *,
    method: str = "lda",
    dim: int | None = None,
    seed: int = 0,
    grid: tuple[float, ...] = SHRINKAGE_GRID,
) -> tuple[float, dict[float, float]]:
    """The shrinkage with the best mAP on an identity-disjoint half of ``fit_idx`` (fitted on the other half)."""
    names = sorted(set(ids[fit_idx].tolist()))
    rng = np.random.default_rng([seed, 3])
    inner_fit = {names[i] for i in rng.permutation(len(names))[: len(names) // 2]}
    in_fit = np.array([str(ids[i]) in inner_fit for i in fit_idx], bool)
    protocol = make_protocol("inner", ids, fit_idx[~in_fit], rng, open_fraction=0.0)
    if len(protocol.query) == 0 or len({str(ids[i]) for i in fit_idx[in_fit]}) < 2:
        return grid[len(grid) // 2], {}
    scores: dict[float, float] = {}
    for value in grid:
        try:
            head = fit_head(features[fit_idx[in_fit]], ids[fit_idx[in_fit]], method=method, dim=dim, shrinkage=value)
        except InputError:
            continue
        scores[value] = _closed(head.transform(features), ids, protocol.query, protocol.gallery).map
    if not scores:
        return grid[len(grid) // 2], {}
    return max(scores, key=lambda k: (scores[k], -abs(k - 0.5))), scores


def fit_head_on_split(
    features: npt.NDArray[Any],
    dataset: ReidDataset,
    split: ReidSplit,
    *,
    method: str = "lda",
    dim: int | None = None,
    shrinkage: float | None = None,
    base_embedder: str = "",
    base_options: dict[str, Any] | None = None,
) -> HeadFit:
    """Fit on the calibration part's images; report closed-set rank-k/mAP on the report part, before and after."""
    ids = dataset.identities
    fit_idx = np.sort(np.r_[split.calibration.query, split.calibration.gallery]).astype(np.int64)
    report = make_protocol(
        "report",
        ids,
        np.sort(np.r_[split.report.query, split.report.gallery]).astype(np.int64),
        np.random.default_rng([split.seed, 2]),
        open_fraction=0.0,
    )
    scores: dict[float, float] = {}
    if shrinkage is None:
        shrinkage, scores = choose_shrinkage(features, ids, fit_idx, method=method, dim=dim, seed=split.seed)
    head = fit_head(
        features[fit_idx],
        ids[fit_idx],
        method=method,
        dim=dim,
        shrinkage=shrinkage,
        base_embedder=base_embedder,
        base_options=base_options,
    )
    return HeadFit(
        head=head,
        before=_closed(features, ids, report.query, report.gallery),
        after=_closed(head.transform(features), ids, report.query, report.gallery),
        fit_samples=len(fit_idx),
        fit_identities=len(set(ids[fit_idx].tolist())),
        report_queries=len(report.query),
        shrinkage_scores=scores,
    )
