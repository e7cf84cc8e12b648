"""Calibration: monotone probabilities in [0, 1], a threshold for a target precision, JSON round trips, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import ConfigError, InputError, IntegrityError, NotFoundError

pytest.importorskip("sklearn")

from sightings.identity.calibration import (
    CALIBRATION_FILE,
    Calibrator,
    choose_threshold,
    embedder_key,
    fit_calibrator,
    load_calibrator,
)


def _pairs(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose true P(same) is a logistic curve: positives score higher on average."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(-1, 1, n)
    y = rng.uniform(0, 1, n) < 1 / (1 + np.exp(-6 * s))
    return s, y


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibrator_is_monotone_and_in_unit_interval(method: str) -> None:
    s, y = _pairs()
    cal = fit_calibrator(s, y, method=method, embedder="fake", score_kind="cosine")  # type: ignore[arg-type]
    grid = np.linspace(-3, 3, 500)
    p = cal.predict(grid)
    assert (np.diff(p) >= -1e-12).all()
    assert p.min() >= 0.0 and p.max() <= 1.0
    truth = 1 / (1 + np.exp(-6 * np.linspace(-0.9, 0.9, 50)))
    assert np.abs(cal.predict(np.linspace(-0.9, 0.9, 50)) - truth).mean() < 0.06
    assert (cal.fit_pairs, cal.fit_positives) == (len(s), int(y.sum()))


def test_threshold_reaches_target_precision_on_its_fit_set() -> None:
    s, y = _pairs(seed=1)
    cal = fit_calibrator(s, y, embedder="fake", score_kind="cosine")
    p = cal.predict(s)
    choice = choose_threshold(p, y, target_precision=0.95)
    accepted = p >= choice.threshold
    assert choice.achieved and accepted.any()
    assert y[accepted].mean() >= 0.95
    assert choice.precision == pytest.approx(y[accepted].mean())
    assert choice.accepted == int(accepted.sum())
    # the lowest such threshold: one step lower would miss the target
    lower = np.unique(p[p < choice.threshold])
    if len(lower):
        assert y[p >= lower[-1]].mean() < 0.95


def test_threshold_unreachable_accepts_nothing() -> None:
    choice = choose_threshold([0.9, 0.8], [False, True], target_precision=0.95)
    assert not choice.achieved and choice.accepted == 0
    assert choice.threshold > 0.9


def test_one_class_pairs_are_a_clear_input_error() -> None:
    with pytest.raises(InputError, match="all 3 pairs are different-individual"):
        fit_calibrator([0.1, 0.2, 0.3], [0, 0, 0], embedder="fake", score_kind="cosine")
    with pytest.raises(InputError, match="same-individual"):
        fit_calibrator([0.1, 0.2], [1, 1], embedder="fake", score_kind="cosine")
    with pytest.raises(InputError, match="2 scores but 1 labels"):
        fit_calibrator([0.1, 0.2], [1], embedder="fake", score_kind="cosine")
    with pytest.raises(ConfigError, match="unknown calibration method"):
        fit_calibrator([0.1, 0.2], [0, 1], method="magic", embedder="fake", score_kind="cosine")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_json_round_trip_beside_a_gallery(tmp_path: Path, method: str) -> None:
    s, y = _pairs(500)
    cal = fit_calibrator(s, y, method=method, embedder=embedder_key("color-texture"), score_kind="cosine")  # type: ignore[arg-type]
    cal = cal.with_threshold(choose_threshold(cal.predict(s), y, target_precision=0.9))
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    path = cal.save(gallery)
    assert path == gallery / CALIBRATION_FILE
    assert not list(gallery.glob("*.tmp"))
    back = load_calibrator(gallery, embedder="color-texture", score_kind="cosine")
    np.testing.assert_allclose(back.predict(s), cal.predict(s))
    assert back.threshold == cal.threshold
    np.testing.assert_array_equal(back.accepts(s), cal.accepts(s))
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1 and data["embedder"] == "color-texture" and data["method"] == method


def test_loading_for_another_embedder_or_score_is_a_config_error(tmp_path: Path) -> None:
    cal = fit_calibrator([0.1, 0.9], [0, 1], embedder=embedder_key("projected", {"head": "h"}), score_kind="cosine")
    path = cal.save(tmp_path / "cal.json")
    with pytest.raises(ConfigError, match="fitted for embedder"):
        load_calibrator(path, embedder="color-texture")
    with pytest.raises(ConfigError, match="not 'inliers'"):
        load_calibrator(path, score_kind="inliers")
    assert load_calibrator(path, embedder='projected{"head": "h"}').embedder == 'projected{"head": "h"}'


def test_bad_calibrator_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_calibrator(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(IntegrityError, match="unreadable"):
        load_calibrator(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(IntegrityError, match="not a sightings calibrator"):
        load_calibrator(bad)
    newer = Calibrator("platt", embedder="e", score_kind="s").to_dict() | {"schema_version": 99}
    bad.write_text(json.dumps(newer))
    with pytest.raises(ConfigError, match="schema version 99"):
        load_calibrator(bad)
    broken = Calibrator("platt", embedder="e", score_kind="s").to_dict()
    del broken["fit"]
    bad.write_text(json.dumps(broken))
    with pytest.raises(IntegrityError, match="corrupt"):
        load_calibrator(bad)
    with pytest.raises(ConfigError, match="no open-set threshold"):
        Calibrator("platt", embedder="e", score_kind="s").accepts([0.1])
