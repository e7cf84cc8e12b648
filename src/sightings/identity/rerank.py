"""Two-stage scoring: global-descriptor kNN shortlist, then local-feature re-ranking (HotSpotter-style).

One score per (query, gallery image), larger = more alike, used identically by the matcher (live answers) and by
``sightings eval reid`` (so the calibration fitted in evaluation fits the service):

    n = max(0, inliers − inlier_floor)
    score = cosine(global_q, global_g) + local_weight × n / (n + inlier_half)

for the ``rerank`` gallery images closest by the global descriptor; the rest keep the cosine alone. RANSAC finds
a handful of "inliers" between any two images, so the first ``inlier_floor`` count for nothing; the bonus then
saturates below ``local_weight``. The constants (floor 8, half 24, weight 0.5) were chosen by leave-one-out
rank-1 on the lions *train* split only (0.254 global → 0.318; docs/identity.md); the score is then calibrated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sightings.core.errors import ConfigError
from sightings.core.protocols import LocalFeatures, LocalMatcher

__all__ = ["RerankSettings", "TwoStageScorer", "fuse_scores", "local_term"]


@dataclass(frozen=True, slots=True)
class RerankSettings:
    """How many shortlisted gallery images get local matching, and how much verified inliers weigh."""

    rerank: int = 10
    local_weight: float = 0.5
    inlier_half: float = 24.0
    inlier_floor: float = 8.0

    def __post_init__(self) -> None:
        if self.rerank < 0:
            raise ConfigError(f"must be >= 0, got {self.rerank}", where="rerank")
        if not (self.local_weight >= 0 and self.inlier_half > 0 and self.inlier_floor >= 0):
            raise ConfigError("local_weight and inlier_floor must be >= 0 and inlier_half > 0", where="rerank")


def local_term(inliers: npt.ArrayLike, settings: RerankSettings) -> npt.NDArray[np.float64]:
    """The saturating local-feature bonus for verified inlier counts."""
    n = np.maximum(np.asarray(inliers, np.float64) - settings.inlier_floor, 0.0)
    return np.asarray(settings.local_weight * n / (n + settings.inlier_half), np.float64)


def fuse_scores(cosine: npt.ArrayLike, inliers: npt.ArrayLike, settings: RerankSettings) -> npt.NDArray[np.float64]:
    """Cosine similarity plus the local bonus (inliers = 0 for images that were not re-ranked)."""
    return np.asarray(np.asarray(cosine, np.float64) + local_term(inliers, settings), np.float64)


class TwoStageScorer:
    """Scores query × gallery index sets of one dataset: global cosine, then local re-rank of the top candidates.

    ``features`` are L2-normalised global vectors (row i = image i); ``local_features(i)`` gives image i's
    keypoints (computed once, cached). Call with index arrays as :class:`sightings.evaluate.reid.PairScorer`.
    """

    score_kind = "two-stage"

    def __init__(
        self,
        features: npt.NDArray[np.float32],
        local_features: Callable[[int], LocalFeatures],
        matcher: LocalMatcher,
        settings: RerankSettings | None = None,
    ) -> None:
        self.features = np.asarray(features, np.float32)
        self.settings = settings or RerankSettings()
        self.matcher = matcher
        self._local = local_features
        self._cache: dict[int, LocalFeatures] = {}
        self.pairs_matched = 0

    def _features(self, i: int) -> LocalFeatures:
        if i not in self._cache:
            self._cache[i] = self._local(i)
        return self._cache[i]

    def __call__(
        self, query: Sequence[int] | npt.NDArray[np.intp], gallery: Sequence[int] | npt.NDArray[np.intp]
    ) -> npt.NDArray[np.float64]:
        q = np.asarray(query, np.intp)
        g = np.asarray(gallery, np.intp)
        cosine = self.features[q] @ self.features[g].T
        inliers = np.zeros_like(cosine, dtype=np.float64)
        top = min(self.settings.rerank, len(g))
        if top and self.settings.local_weight > 0:
            for row, qi in enumerate(q):
                for col in np.argsort(-cosine[row], kind="stable")[:top]:
                    match = self.matcher.match(self._features(int(qi)), self._features(int(g[col])))
                    inliers[row, col] = match.inliers
                    self.pairs_matched += 1
        return fuse_scores(cosine, inliers, self.settings)
