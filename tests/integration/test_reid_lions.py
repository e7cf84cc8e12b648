"""Re-ID evaluation on shared/data/lions (94 identities, 740 crops; train/val share no identity)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sightings.evaluate.reid import EmbeddingScorer, embed_images, evaluate_reid
from sightings.evaluate.reid_data import load_reid_dataset, load_reid_images, split_reid
from sightings.testing.fakes import FakeEmbedder

pytestmark = pytest.mark.shared_data


def test_lions_protocol_and_fake_embedder(shared_data: Path) -> None:
    lions = shared_data / "lions"
    if not (lions / "labels.csv").is_file():
        pytest.skip(f"no lions data set in {shared_data}")
    ds = load_reid_dataset(lions)
    assert len(ds) == 740 and ds.num_identities() == 94
    split = split_reid(ds, seed=0)
    assert split.partition == "split column"
    ids = ds.identities
    train = {s.identity for s in ds.samples if s.split == "train"}
    assert set(ids[np.r_[split.calibration.query, split.calibration.gallery]].tolist()) == train
    features, per_image = embed_images(FakeEmbedder(), load_reid_images(ds))
    report = evaluate_reid(ds, split, EmbeddingScorer(features, per_image), embedder="fake")
    # a 4×4 thumbnail barely identifies lions; the numbers must still be sane
    assert 0.0 <= report.closed.rank1 <= report.closed.rank5 <= report.closed.rank10 <= 1.0
    assert report.closed.queries + report.report_part["unknown_queries"] == report.report_part["queries"]
    assert 0.0 <= report.ece < 0.2
