"""Embedders on a few identities of shared/data/lions (val split): better than chance, never tuned here."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")

from sightings.media.images import load_image
from sightings.vision.embed.global_descriptor import ColorTextureEmbedder
from sightings.vision.embed.local_features import RootSiftMatcher

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def _val(shared_data: Path, identities: int) -> tuple[list[np.ndarray], np.ndarray]:
    labels = shared_data / "lions" / "labels.csv"
    if not labels.is_file():
        pytest.skip(f"no lions data in {shared_data}")
    rows = [r for r in csv.DictReader(labels.open(encoding="utf-8")) if r["split"] == "val"]
    keep = sorted({r["identity"] for r in rows})[:identities]
    rows = [r for r in rows if r["identity"] in keep]
    return [load_image(labels.parent / r["image"]) for r in rows], np.array([r["identity"] for r in rows])


def _rank1(scores: np.ndarray, ids: np.ndarray) -> float:
    np.fill_diagonal(scores, -np.inf)
    return float(np.mean(ids[np.argmax(scores, axis=1)] == ids))


def test_rootsift_and_colour_texture_beat_chance_on_lions(shared_data: Path) -> None:
    images, ids = _val(shared_data, 5)
    chance = float(np.mean([(np.sum(ids == i) - 1) / (len(ids) - 1) for i in ids]))
    matcher = RootSiftMatcher()
    feats = [matcher.extract(im) for im in images]
    assert all(len(f) > 0 for f in feats), "every lion crop has keypoints"
    local = np.array([[matcher.match(a, b).score for b in feats] for a in feats], np.float64)
    assert _rank1(local + local.T, ids) > 2 * chance
    vecs = ColorTextureEmbedder().embed(images)
    assert _rank1(vecs @ vecs.T, ids) > chance
