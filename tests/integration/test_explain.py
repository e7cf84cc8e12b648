"""Explanations: correspondence drawing, occlusion sensitivity, the composite, atomic PNG writing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from embed_factories import make_blob_texture, warp_homography
from sightings.core.errors import ConfigError, InputError

pytest.importorskip("cv2")

from sightings.vision.embed.global_descriptor import ColorTextureEmbedder
from sightings.vision.embed.local_features import RootSiftMatcher
from sightings.vision.explain import (
    draw_correspondences,
    explain_pair,
    occlusion_sensitivity,
    overlay_heatmap,
    write_png,
)


class TopLeftEmbedder:
    """Looks only at the mean colour of the top-left quarter of an image (plus a constant)."""

    dim = 4

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        rows = []
        for img in images:
            h, w = img.shape[:2]
            vec = np.r_[img[: h // 2, : w // 2].reshape(-1, 3).mean(axis=0), 10.0].astype(np.float32)
            rows.append(vec / np.linalg.norm(vec))
        return np.array(rows, np.float32)


def test_occlusion_marks_only_the_cells_the_embedder_uses() -> None:
    query = make_blob_texture(0, 64, 64)
    query[:32, :32] = (250, 20, 20)
    occ = occlusion_sensitivity(TopLeftEmbedder(), query, query.copy(), grid=4)
    assert occ.drops.shape == (4, 4) and occ.base_similarity == pytest.approx(1.0, abs=1e-5)
    assert (occ.drops[:2, :2] > 1e-3).all()
    np.testing.assert_allclose(occ.drops[2:, :], 0, atol=1e-6)
    np.testing.assert_allclose(occ.drops[:, 2:], 0, atol=1e-6)
    assert occ.heatmap.shape == (64, 64) and occ.heatmap.max() == pytest.approx(1.0) and occ.heatmap.min() == 0
    assert occ.heatmap[:32, :32].min() > 0 and occ.heatmap[32:, 32:].max() == 0


def test_draw_correspondences_side_by_side() -> None:
    a = make_blob_texture(0)
    b, _ = warp_homography(a)
    m = RootSiftMatcher()
    fa, fb = m.extract(a), m.extract(b)
    match = m.match(fa, fb)
    canvas = draw_correspondences(a, b, fa, fb, match, height=200)
    assert canvas.shape == (200, 250 + 8 + 250, 3) and canvas.dtype == np.uint8
    plain = draw_correspondences(a, b, fa, fb, m.match(fa, m.extract(np.full((50, 50, 3), 9, np.uint8))), height=200)
    assert not np.array_equal(canvas, plain), "inlier lines are drawn"


def test_explain_pair_composite_and_png(tmp_path: Path) -> None:
    import cv2

    a = make_blob_texture(0)
    b, _ = warp_homography(a)
    result = explain_pair(a, b, embedder=ColorTextureEmbedder(), matcher=RootSiftMatcher(), grid=4, height=128)
    assert result.local_match.inliers >= 40
    assert result.overlay.shape == a.shape and result.occlusion.drops.shape == (4, 4)
    assert result.composite.shape[0] > 2 * 128
    out = write_png(tmp_path / "sub" / "why.png", result.composite)
    decoded = cv2.imread(str(out))
    assert decoded is not None and decoded.shape == result.composite.shape
    assert [p.name for p in out.parent.iterdir()] == ["why.png"], "no temporary file left behind"


def test_bad_inputs() -> None:
    img = make_blob_texture(0, 32, 32)
    with pytest.raises(ConfigError):
        occlusion_sensitivity(TopLeftEmbedder(), img, img, grid=0)
    with pytest.raises(InputError, match="finer"):
        occlusion_sensitivity(TopLeftEmbedder(), img[:10, :10], img, grid=16)
    with pytest.raises(InputError):
        occlusion_sensitivity(TopLeftEmbedder(), img.astype(np.float32), img)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        overlay_heatmap(img, np.zeros((5, 5), np.float32))
