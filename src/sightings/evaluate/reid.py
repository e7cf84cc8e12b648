"""Re-identification evaluation: rank-k, mAP, CMC, calibration (ECE), open-set decisions, with any scorer.

    dataset = load_reid_dataset("lions/")
    split = split_reid(dataset, seed=0)
    scorer = EmbeddingScorer.from_embedder(embedder, load_reid_images(dataset))
    report = evaluate_reid(dataset, split, scorer, embedder="color-texture")
    write_reid_outputs(report, "out/")            # metrics.json, cmc.png, reliability.png

A *scorer* is any callable ``scorer(query_indices, gallery_indices) -> (n_query, n_gallery) similarity`` over
dataset sample indices (larger = more alike), so a two-stage matcher (kNN shortlist + local-feature re-rank)
plugs in the same way as an embedding. The calibrator and the open-set threshold are fitted on the split's
calibration part; every reported number comes from its report part. See docs/reid-evaluation.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import atomic_write_text, check_output_folder, make_output_dir
from sightings.core.errors import BackendError, InputError
from sightings.evaluate.reid_data import (
    IndexArray,
    ReidDataset,
    ReidProtocol,
    ReidSplit,
    load_reid_dataset,
    load_reid_images,
    split_protocol,
    split_reid,
)
from sightings.evaluate.reid_metrics import (
    ReliabilityBins,
    average_precision,
    check_similarity,
    cmc_curve,
    expected_calibration_error,
    plot_cmc,
    plot_reliability,
    precision_recall_at,
    top1_decisions,
    topk_pairs,
    tpr_at_precision,
)

if TYPE_CHECKING:
    from sightings.identity.calibration import Method

__all__ = [
    "ClosedSetMetrics",
    "EmbeddingScorer",
    "PairScorer",
    "ReidReport",
    "closed_set_metrics",
    "embed_images",
    "evaluate_reid",
    "load_reid_dataset",
    "load_reid_images",
    "score_matrix",
    "split_reid",
    "write_reid_outputs",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class PairScorer(Protocol):
    """Similarity of dataset samples: ``(query indices, gallery indices) -> (n_query, n_gallery)`` matrix."""

    def __call__(self, query: IndexArray, gallery: IndexArray) -> npt.ArrayLike: ...


def score_matrix(queries: npt.ArrayLike, gallery: npt.ArrayLike) -> FloatArray:
    """Cosine similarity of two sets of vectors (rows are L2-normalised here; zero rows score 0)."""
    q, g = np.asarray(queries, np.float64), np.asarray(gallery, np.float64)
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise InputError(f"need (n, d) and (m, d) arrays, got {q.shape} and {g.shape}", where="score_matrix")
    qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    gn = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    return np.asarray(qn @ gn.T, np.float64)


def embed_images(
    embedder: Any,
    images: Sequence[npt.NDArray[np.uint8]],
    *,
    batch_size: int = 32,
    progress: Callable[[Sequence[int]], Any] | None = None,
) -> tuple[npt.NDArray[np.float32], float]:
    """Embed ``images`` in batches; returns the (n, dim) vectors and the seconds spent per image."""
    starts = list(range(0, len(images), batch_size))
    chunks: list[npt.NDArray[np.float32]] = []
    t0 = time.perf_counter()
    for start in progress(starts) if progress else starts:
        vecs = np.asarray(embedder.embed(images[start : start + batch_size]), np.float32)
        if vecs.ndim != 2 or len(vecs) != len(images[start : start + batch_size]):
            raise BackendError(f"embedder returned shape {vecs.shape} for a batch", where=type(embedder).__name__)
        chunks.append(vecs)
    seconds = time.perf_counter() - t0
    features = np.concatenate(chunks) if chunks else np.zeros((0, int(getattr(embedder, "dim", 0))), np.float32)
    if not np.isfinite(features).all():
        raise BackendError("embedder returned NaN or infinite values", where=type(embedder).__name__)
    return features, seconds / max(1, len(images))


@dataclass(frozen=True, slots=True, eq=False)
class EmbeddingScorer:
    """Cosine similarity of per-image embeddings (row i = dataset sample i), computed once up front."""

    features: npt.NDArray[np.float32]
    seconds_per_image: float = 0.0  # embedding time, charged to each query in queries/s
    score_kind: str = "cosine"

    def __call__(self, query: IndexArray, gallery: IndexArray) -> FloatArray:
        return score_matrix(self.features[query], self.features[gallery])


@dataclass(frozen=True, slots=True)
class ClosedSetMetrics:
    """Identification of queries whose individual is in the gallery."""

    rank1: float
    rank5: float
    rank10: float
    map: float
    cmc: tuple[float, ...]
    queries: int


def closed_set_metrics(
    similarity: FloatArray, query_ids: npt.ArrayLike, gallery_ids: npt.ArrayLike
) -> ClosedSetMetrics:
    """Rank-1/5/10, mAP and the CMC curve of the queries that have a matching gallery image."""
    cmc = cmc_curve(similarity, query_ids, gallery_ids)
    ap = average_precision(similarity, query_ids, gallery_ids)

    def at(k: int) -> float:
        return float(cmc[min(k, len(cmc)) - 1])

    return ClosedSetMetrics(at(1), at(5), at(10), float(ap.mean()), tuple(float(v) for v in cmc), len(ap))


@dataclass(frozen=True, slots=True)
class ReidReport:
    """Everything `sightings eval reid` reports (numbers from the report part; calibration from the other)."""

    embedder: str
    score_kind: str
    closed: ClosedSetMetrics
    ece: float
    reliability: ReliabilityBins
    calibration_method: str
    threshold: float  # on calibrated probability, chosen on the calibration part
    threshold_target_precision: float
    threshold_achieved_on_calibration: bool
    precision_at_threshold: float
    accepted_at_threshold: int  # top-1 answers accepted at the threshold (0: precision is vacuous, shown as none)
    recall_at_threshold: float  # open-set TPR: known queries accepted with their own identity / known queries
    unknown_accepted_at_threshold: float  # fraction of unknown queries wrongly given an identity
    open_set_tpr_at_95_precision: float
    queries_per_s: float
    top_k_pairs: int
    calibration_episodes: int
    report_part: dict[str, int | str]
    calibration_part: dict[str, int | str]
    partition: str
    seed: int
    calibrator: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["closed"]["cmc"] = [round(v, 6) for v in self.closed.cmc[:50]]
        out["reliability"] = {
            "edges": self.reliability.edges.tolist(),
            "confidence": [None if np.isnan(v) else float(v) for v in self.reliability.confidence],
            "accuracy": [None if np.isnan(v) else float(v) for v in self.reliability.accuracy],
            "count": self.reliability.count.tolist(),
        }
        return out


def _scored(scorer: PairScorer, part: ReidProtocol) -> FloatArray:
    return check_similarity(scorer(part.query, part.gallery), len(part.query), len(part.gallery))


def evaluate_reid(
    dataset: ReidDataset,
    split: ReidSplit,
    scorer: PairScorer,
    *,
    embedder: str = "custom",
    score_kind: str | None = None,
    method: Method = "isotonic",
    top_k: int = 5,
    target_precision: float = 0.95,
    seconds_per_query: float | None = None,
    match_gallery_size: bool = True,
) -> ReidReport:
    """Fit calibration + threshold on ``split.calibration``; report rank-k, mAP, ECE, open-set on ``split.report``.

    With ``match_gallery_size`` the calibration part is cut into identity-disjoint episodes whose galleries hold
    about as many individuals as the reported gallery (the chance that the best candidate is right falls as the
    gallery grows, so a calibrator fitted on a much larger gallery would be under-confident on a smaller one).
    ``seconds_per_query`` is added per query to the timed scorer call for queries/s (default: the scorer's
    ``seconds_per_image``, the time to embed one query image, when it has one).
    """
    from sightings.identity.calibration import choose_threshold, fit_calibrator

    kind = score_kind or str(getattr(scorer, "score_kind", "similarity"))
    ids = dataset.identities
    cal_part, rep_part = split.calibration, split.report

    groups = 1
    if match_gallery_size:
        n_rep = len(set(ids[rep_part.gallery].tolist()))
        groups = max(1, round(len(set(ids[cal_part.gallery].tolist())) / max(1, n_rep)))
    pair_parts: list[tuple[FloatArray, BoolArray]] = []
    top_parts: list[tuple[FloatArray, BoolArray]] = []
    for episode in split_protocol(cal_part, ids, groups, seed=split.seed):
        ep_sim = _scored(scorer, episode)
        pair_parts.append(topk_pairs(ep_sim, ids[episode.query], ids[episode.gallery], k=top_k))
        top_parts.append(top1_decisions(ep_sim, ids[episode.query], ids[episode.gallery]))
    cal_scores, cal_labels = (np.concatenate(v) for v in zip(*pair_parts, strict=True))
    cal_top, cal_correct = (np.concatenate(v) for v in zip(*top_parts, strict=True))
    calibrator = fit_calibrator(cal_scores, cal_labels, method=method, embedder=embedder, score_kind=kind)
    choice = choose_threshold(
        calibrator.predict(cal_top), cal_correct, target_precision=target_precision, n_known=cal_part.num_known
    )
    calibrator = calibrator.with_threshold(choice)

    t0 = time.perf_counter()
    sim = _scored(scorer, rep_part)
    elapsed = time.perf_counter() - t0
    per_query = float(getattr(scorer, "seconds_per_image", 0.0)) if seconds_per_query is None else seconds_per_query
    n_query = len(rep_part.query)
    qps = n_query / max(1e-9, elapsed + per_query * n_query)

    q_ids, g_ids = ids[rep_part.query], ids[rep_part.gallery]
    known = ~rep_part.unknown
    closed = closed_set_metrics(sim[known], q_ids[known], g_ids)
    pair_scores, pair_labels = topk_pairs(sim, q_ids, g_ids, k=top_k)
    ece, bins = expected_calibration_error(calibrator.predict(pair_scores), pair_labels)
    top, correct = top1_decisions(sim, q_ids, g_ids)
    prob_top = calibrator.predict(top)
    precision, recall, n_accepted = precision_recall_at(prob_top, correct, rep_part.num_known, choice.threshold)
    unknown_accepted = float((prob_top[rep_part.unknown] >= choice.threshold).mean()) if rep_part.num_unknown else 0.0
    return ReidReport(
        embedder=embedder,
        score_kind=kind,
        closed=closed,
        ece=ece,
        reliability=bins,
        calibration_method=method,
        threshold=choice.threshold,
        threshold_target_precision=target_precision,
        threshold_achieved_on_calibration=choice.achieved,
        precision_at_threshold=precision,
        accepted_at_threshold=n_accepted,
        recall_at_threshold=recall,
        unknown_accepted_at_threshold=unknown_accepted,
        open_set_tpr_at_95_precision=tpr_at_precision(top, correct, rep_part.num_known, 0.95),
        queries_per_s=qps,
        top_k_pairs=top_k,
        calibration_episodes=len(top_parts),
        report_part=rep_part.describe(),
        calibration_part=cal_part.describe(),
        partition=split.partition,
        seed=split.seed,
        calibrator=calibrator.to_dict(),
    )


def write_reid_outputs(report: ReidReport, out_dir: str | Path) -> dict[str, Path]:
    """Write ``metrics.json``, ``cmc.png`` and ``reliability.png`` into ``out_dir`` (each file atomically)."""
    folder = Path(out_dir)
    check_output_folder(folder)
    make_output_dir(folder)
    paths = {
        "metrics": atomic_write_text(folder / "metrics.json", json.dumps(report.to_dict(), indent=2) + "\n"),
        "cmc": plot_cmc(
            folder / "cmc.png", {report.embedder: np.asarray(report.closed.cmc)}, title="CMC (report part)"
        ),
        "reliability": plot_reliability(
            folder / "reliability.png",
            report.reliability,
            ece=report.ece,
            title=f"Reliability, {report.calibration_method} (top-{report.top_k_pairs} pairs)",
        ),
    }
    return paths
