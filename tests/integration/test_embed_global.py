"""Colour-texture global descriptor: normalised rows, stable, near-duplicates closer than other textures."""

from __future__ import annotations

import numpy as np
import pytest

from embed_factories import make_blob_texture
from sightings.core.errors import ConfigError, InputError

pytest.importorskip("cv2")

from sightings.vision.embed.global_descriptor import ColorTextureEmbedder, lbp_codes, lbp_riu2_table


def test_rows_are_l2_normalised_float32_of_dim() -> None:
    emb = ColorTextureEmbedder()
    vecs = emb.embed([make_blob_texture(0), make_blob_texture(1, 90, 60)])
    assert vecs.shape == (2, emb.dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(emb.embed([make_blob_texture(0)])[0], vecs[0])


def test_a_noisy_copy_is_closer_than_another_texture_or_a_recoloured_one() -> None:
    emb = ColorTextureEmbedder()
    base = make_blob_texture(0)
    rng = np.random.default_rng(5)
    noisy = np.clip(base.astype(int) + rng.integers(-10, 11, base.shape), 0, 255).astype(np.uint8)
    recoloured = base[:, :, ::-1].copy()
    v = emb.embed([base, noisy, make_blob_texture(3), recoloured])
    sims = v[1:] @ v[0]
    assert sims[0] > 0.9
    assert sims[0] > sims[1] and sims[0] > sims[2]


def test_dim_follows_the_options() -> None:
    assert ColorTextureEmbedder(hsv_bins=(8, 4, 4), grid=2).dim == 5 * 128 + 5 * 20
    assert ColorTextureEmbedder().dim == 5 * 288 + 5 * 20
    emb = ColorTextureEmbedder(texture="none", grid=1, hsv_bins=(8, 4, 4))
    assert emb.dim == 128 and emb.embed([make_blob_texture(0)]).shape == (1, 128)


def test_lbp_table_and_codes() -> None:
    table = lbp_riu2_table()
    assert table[0] == 0 and table[255] == 8 and table[0b00001111] == 4 and table[0b01010101] == 9
    flat = np.full((10, 10), 7, np.float32)
    assert (lbp_codes(flat) == 8).all(), "equal neighbours count as set bits"
    assert lbp_codes(flat, radius=2).shape == (6, 6)
    assert (lbp_codes(flat, threshold=1) == 0).all(), "with a threshold, equal neighbours set no bit"


def test_grey_and_rgba_inputs_are_accepted() -> None:
    emb = ColorTextureEmbedder()
    base = make_blob_texture(0)
    grey = base.mean(axis=2).astype(np.uint8)
    rgba = np.dstack([base, np.full(base.shape[:2], 255, np.uint8)])
    v = emb.embed([grey, rgba, base])
    np.testing.assert_allclose(v[1], v[2], atol=1e-6)
    assert np.isfinite(v).all()


@pytest.mark.parametrize(
    "bad", [np.zeros((3, 3, 3), np.uint8), np.zeros((20, 20, 3), np.float64), np.zeros((20, 20, 2), np.uint8)]
)
def test_bad_images_are_input_errors(bad: np.ndarray) -> None:
    with pytest.raises(InputError):
        ColorTextureEmbedder().embed([bad])


@pytest.mark.parametrize(
    "options",
    [
        {"hsv_bins": (8, 4)},
        {"size": 4},
        {"grid": 0},
        {"texture": "hog"},
        {"power": 0},
        {"colour_weight": -1},
        {"lbp_threshold": -1},
        {"achromatic_saturation": 300},
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ColorTextureEmbedder(**options)  # type: ignore[arg-type]
