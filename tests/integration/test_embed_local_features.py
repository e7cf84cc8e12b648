"""RootSIFT matcher: a warped texture matches with many verified inliers, a different texture with few."""

from __future__ import annotations

import numpy as np
import pytest

from embed_factories import make_blob_texture, warp_homography
from sightings.core.errors import ConfigError, InputError

pytest.importorskip("cv2")

from sightings.vision.embed.local_features import RootSiftMatcher, root_sift


@pytest.fixture(scope="module")
def matcher() -> RootSiftMatcher:
    return RootSiftMatcher()


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return make_blob_texture(0)


def test_warped_texture_matches_with_many_inliers_and_another_with_few(
    matcher: RootSiftMatcher, texture: np.ndarray
) -> None:
    warped, _ = warp_homography(texture)
    fa, fb, fc = matcher.extract(texture), matcher.extract(warped), matcher.extract(make_blob_texture(1))
    same = matcher.match(fa, fb)
    other = matcher.match(fa, fc)
    assert same.inliers >= 40, same.inliers
    assert other.inliers <= 12, other.inliers
    assert 0 < same.score < same.inliers and same.pairs.shape == (same.inliers, 2)  # ratio-weighted by default
    plain = RootSiftMatcher(weighting="inliers").match(fa, fb)
    assert plain.score == plain.inliers


def test_inliers_agree_with_the_true_homography(texture: np.ndarray) -> None:
    matcher = RootSiftMatcher(geometry="homography")
    warped, h = warp_homography(texture)
    fa, fb = matcher.extract(texture), matcher.extract(warped)
    match = matcher.match(fa, fb)
    src = np.c_[fa.keypoints_xy[match.pairs[:, 0]], np.ones(match.inliers)]
    projected = src @ h.T
    projected = projected[:, :2] / projected[:, 2:]
    error = np.linalg.norm(projected - fb.keypoints_xy[match.pairs[:, 1]], axis=1)
    assert np.median(error) < 2.0, "keypoints are in the given image's pixels and inliers are true correspondences"


def test_upscaling_small_crops_keeps_keypoints_in_the_given_pixels(texture: np.ndarray) -> None:
    import cv2

    small = cv2.resize(texture, (100, 80), interpolation=cv2.INTER_AREA)
    plain = RootSiftMatcher(upscale_short_side=None).extract(small)
    upscaled = RootSiftMatcher(upscale_short_side=256).extract(small)
    assert len(upscaled) > len(plain)
    assert upscaled.image_size == (100, 80)
    assert (upscaled.keypoints_xy >= -1).all() and (upscaled.keypoints_xy[:, 0] <= 100).all()
    assert (upscaled.keypoints_xy[:, 1] <= 80).all()


def test_root_sift_rows_have_unit_norm() -> None:
    rows = root_sift(np.random.default_rng(0).random((5, 128)).astype(np.float32) * 50)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "options",
    [
        {"geometry": "homography"},
        {"mutual": True},
        {"weighting": "inliers"},
        {"geometry": "none"},
        {"max_keypoints": 200},
        {"octave_layers": 2},
    ],
)
def test_options_still_separate_same_from_different(options: dict[str, object], texture: np.ndarray) -> None:
    import cv2

    m = RootSiftMatcher(**options)  # type: ignore[arg-type]
    rot = cv2.getRotationMatrix2D((100, 80), 15, 0.9)
    turned = cv2.warpAffine(texture, rot, (200, 160), borderValue=(200, 200, 200))
    fa = m.extract(texture)
    same = m.match(fa, m.extract(turned))
    other = m.match(fa, m.extract(make_blob_texture(2)))
    # without geometric verification look-alike blobs pass the ratio test: the margin is what RANSAC buys
    factor = 2 if options.get("geometry") == "none" else 3
    assert same.score > factor * max(other.score, 1.0)
    if options.get("weighting") == "inliers":
        assert same.score == same.inliers


@pytest.mark.parametrize(
    "image",
    [np.full((120, 120, 3), 77, np.uint8), np.zeros((8, 8, 3), np.uint8), np.zeros((10, 200), np.uint8)],
    ids=["flat", "tiny", "thin"],
)
def test_blank_flat_or_tiny_images_have_no_keypoints(matcher: RootSiftMatcher, image: np.ndarray) -> None:
    feats = matcher.extract(image)
    assert len(feats) == 0 and feats.descriptors.shape == (0, 128)
    match = matcher.match(feats, matcher.extract(make_blob_texture(0)))
    assert match.inliers == 0 and match.score == 0.0 and match.pairs.shape == (0, 2)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((50, 50, 3), np.float32), np.zeros((50, 50, 2), np.uint8), np.zeros((0, 50, 3), np.uint8), [[1, 2]]],
    ids=["float", "two-channels", "empty", "list"],
)
def test_wrong_dtype_or_shape_is_an_input_error(matcher: RootSiftMatcher, bad: object) -> None:
    with pytest.raises(InputError):
        matcher.extract(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"ratio": 0.0},
        {"geometry": "projective"},
        {"max_keypoints": 0},
        {"weighting": "lnbnn"},
        {"min_side": 0},
        {"octave_layers": 0},
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RootSiftMatcher(**options)  # type: ignore[arg-type]


def test_grey_and_rgba_images_are_accepted(matcher: RootSiftMatcher, texture: np.ndarray) -> None:
    grey = texture.mean(axis=2).astype(np.uint8)
    rgba = np.dstack([texture, np.full(texture.shape[:2], 255, np.uint8)])
    assert len(matcher.extract(grey)) > 50
    assert matcher.match(matcher.extract(rgba), matcher.extract(texture)).inliers > 50


def test_octave_layers_change_the_features_and_their_stamp(texture: np.ndarray) -> None:
    from sightings.vision.embed.local_features import PRE_STAMP_SIGNATURE

    default, two = RootSiftMatcher(), RootSiftMatcher(octave_layers=2)
    # OpenCV's default (3) is not written, so features stamped before the option existed still count as current
    assert "octave_layers" not in default.signature
    assert RootSiftMatcher(max_side=400).signature == PRE_STAMP_SIGNATURE
    assert two.signature.endswith(" octave_layers=2") and two.signature != default.signature
    assert 0 < len(two.extract(texture)) < len(default.extract(texture))  # fewer scale levels, fewer keypoints
