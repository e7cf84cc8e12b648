"""`evaluate_reid` with a pluggable scorer: an oracle scores perfectly; a custom callable is all it takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reid_factories import make_reid_folder

pytest.importorskip("sklearn")

from sightings.evaluate.reid import EmbeddingScorer, embed_images, evaluate_reid
from sightings.evaluate.reid_data import load_reid_dataset, load_reid_images, split_reid
from sightings.testing.fakes import FakeEmbedder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_reid_folder(tmp_path_factory.mktemp("reid"), identities=20, per_identity=4, singletons=3)


def test_custom_scorer_plugs_in(folder: Path) -> None:
    ds = load_reid_dataset(folder)
    ids = ds.identities
    rng = np.random.default_rng(0)
    calls: list[tuple[int, int]] = []

    def oracle(query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        calls.append((len(query), len(gallery)))
        same = ids[query][:, None] == ids[gallery][None, :]
        return same * 0.8 + rng.uniform(0, 0.2, same.shape)

    split = split_reid(ds, seed=0, open_fraction=0.2)
    report = evaluate_reid(ds, split, oracle, embedder="oracle", score_kind="oracle")
    assert report.closed.rank1 == 1.0 and report.closed.map == 1.0
    assert report.threshold_achieved_on_calibration
    assert report.precision_at_threshold == 1.0 and report.recall_at_threshold == 1.0
    assert report.accepted_at_threshold > 0
    assert report.to_dict()["accepted_at_threshold"] == report.accepted_at_threshold
    assert report.unknown_accepted_at_threshold == 0.0 and report.open_set_tpr_at_95_precision == 1.0
    assert report.ece < 0.05 and report.calibrator["score_kind"] == "oracle"
    assert len(calls) >= 2  # calibration episode(s) + the report part

    from dataclasses import replace

    from sightings.cli import common
    from sightings.cli.identity import _print_report

    with common.console.capture() as shown:  # nothing accepted: no precision to speak of, not "1.000"
        _print_report(replace(report, accepted_at_threshold=0, precision_at_threshold=1.0), folder)
    assert "— (none accepted)" in shown.get()


def test_embedding_scorer_on_generated_crops(folder: Path) -> None:
    ds = load_reid_dataset(folder)
    features, per_image = embed_images(FakeEmbedder(), load_reid_images(ds), batch_size=7)
    assert features.shape == (len(ds), 19) and per_image > 0
    report = evaluate_reid(ds, split_reid(ds, seed=0), EmbeddingScorer(features, per_image), embedder="fake")
    assert report.closed.rank1 > 0.9 and report.queries_per_s > 0
    d = report.to_dict()
    assert d["report_part"]["distractor_identities"] + d["calibration_part"]["distractor_identities"] == 3
    assert len(d["reliability"]["count"]) == 15
