"""Re-ID metrics on hand-checked similarity matrices (rank-k, mAP, ECE, open-set TPR) and the plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import InputError
from sightings.evaluate.reid import closed_set_metrics, score_matrix
from sightings.evaluate.reid_metrics import (
    average_precision,
    cmc_curve,
    expected_calibration_error,
    open_set_curve,
    plot_cmc,
    plot_reliability,
    precision_recall_at,
    top1_decisions,
    topk_pairs,
    tpr_at_precision,
)

GALLERY = ["a", "b", "c", "a"]
QUERIES = ["a", "b", "c"]
SIM = np.array(
    [
        [0.9, 0.1, 0.2, 0.3],  # a: right at rank 1 (and rank 2 for its second image)
        [0.1, 0.5, 0.8, 0.2],  # b: c first, b second -> rank 2
        [0.7, 0.6, 0.1, 0.65],  # c: right at rank 4
    ]
)


def test_cmc_and_rank_k_of_a_known_matrix() -> None:
    cmc = cmc_curve(SIM, QUERIES, GALLERY)
    np.testing.assert_allclose(cmc, [1 / 3, 2 / 3, 2 / 3, 1.0])
    m = closed_set_metrics(SIM, QUERIES, GALLERY)
    assert (m.rank1, m.rank5, m.rank10) == pytest.approx((1 / 3, 1.0, 1.0))


def test_average_precision_of_a_known_ranking() -> None:
    # one query, relevant at ranks 1 and 3 of 4: AP = (1/1 + 2/3) / 2
    ap = average_precision(np.array([[0.9, 0.8, 0.7, 0.1]]), ["x"], ["x", "y", "x", "y"])
    assert ap[0] == pytest.approx((1 + 2 / 3) / 2)
    aps = average_precision(SIM, QUERIES, GALLERY)
    np.testing.assert_allclose(aps, [1.0, 0.5, 0.25])
    assert closed_set_metrics(SIM, QUERIES, GALLERY).map == pytest.approx(1.75 / 3)


def test_queries_without_a_gallery_match_are_left_out_of_closed_set_metrics() -> None:
    cmc = cmc_curve(np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "z"], ["a", "b"])
    assert cmc[0] == 1.0  # "z" has no gallery image: not counted
    with pytest.raises(InputError, match="no query has a matching gallery image"):
        cmc_curve(np.array([[0.9, 0.1]]), ["z"], ["a", "b"])


def test_bad_similarity_shapes_and_values() -> None:
    with pytest.raises(InputError, match="expected shape"):
        cmc_curve(np.zeros((2, 2)), QUERIES, GALLERY)
    with pytest.raises(InputError, match="NaN"):
        average_precision(np.full((3, 4), np.nan), QUERIES, GALLERY)


def test_candidate_pairs_are_per_identity() -> None:
    scores, labels = topk_pairs(SIM, QUERIES, GALLERY, k=2)
    # query a: identity a (max 0.9, 0.3) then c (0.2); query b: c 0.8, b 0.5; query c: a 0.7, b 0.6
    np.testing.assert_allclose(scores, [0.9, 0.2, 0.8, 0.5, 0.7, 0.6])
    np.testing.assert_array_equal(labels, [True, False, False, True, False, False])
    top, correct = top1_decisions(SIM, QUERIES, GALLERY)
    np.testing.assert_allclose(top, [0.9, 0.8, 0.7])
    np.testing.assert_array_equal(correct, [True, False, False])


def test_open_set_tpr_at_precision() -> None:
    # 4 known queries (3 answered right), 2 unknown; sorted by score: R R W R U U
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    correct = [True, True, False, True, False, False]
    _, prec, tpr = open_set_curve(scores, correct, n_known=4)
    np.testing.assert_allclose(prec[:4], [1, 1, 2 / 3, 3 / 4])
    np.testing.assert_allclose(tpr[:4], [0.25, 0.5, 0.5, 0.75])
    assert tpr_at_precision(scores, correct, 4, 0.95) == pytest.approx(0.5)
    assert tpr_at_precision(scores, correct, 4, 0.7) == pytest.approx(0.75)
    assert tpr_at_precision([0.9], [False], 1, 0.95) == 0.0
    p, r, n = precision_recall_at(scores, correct, 4, threshold=0.55)
    assert (p, r, n) == (pytest.approx(3 / 4), pytest.approx(3 / 4), 4)
    assert precision_recall_at(scores, correct, 4, threshold=2.0) == (1.0, 0.0, 0)


def test_ties_share_one_threshold() -> None:
    thr, prec, _ = open_set_curve([0.5, 0.5, 0.4], [True, False, True], n_known=2)
    np.testing.assert_allclose(thr, [0.5, 0.4])
    np.testing.assert_allclose(prec, [0.5, 2 / 3])


def test_ece_of_calibrated_and_miscalibrated_sets() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 200_000)
    y = rng.uniform(0, 1, p.size) < p
    ece, bins = expected_calibration_error(p, y)
    assert ece < 0.01
    assert bins.count.sum() == p.size and len(bins.count) == 15
    ece, _ = expected_calibration_error([0.5] * 4, [1, 0, 1, 0])
    assert ece == pytest.approx(0.0)
    ece, _ = expected_calibration_error([0.9] * 10, [1] * 8 + [0] * 2)
    assert ece == pytest.approx(0.1)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        expected_calibration_error([1.5], [1])


def test_score_matrix_is_cosine() -> None:
    sim = score_matrix([[2.0, 0.0], [1.0, 1.0]], [[0.0, 3.0], [1.0, 0.0]])
    np.testing.assert_allclose(sim, [[0.0, 1.0], [np.sqrt(0.5), np.sqrt(0.5)]])
    with pytest.raises(InputError):
        score_matrix(np.zeros((2, 3)), np.zeros((2, 4)))


def test_plots_are_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    cmc = plot_cmc(tmp_path / "cmc.png", {"x": cmc_curve(SIM, QUERIES, GALLERY)})
    ece, bins = expected_calibration_error([0.1, 0.8, 0.9], [0, 1, 1])
    rel = plot_reliability(tmp_path / "rel.png", bins, ece=ece)
    for path in (cmc, rel):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
