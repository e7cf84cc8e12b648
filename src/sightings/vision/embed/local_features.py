"""RootSIFT local features with ratio test and RANSAC geometric verification (HotSpotter-style pair scoring).

    matcher = RootSiftMatcher()
    fa, fb = matcher.extract(image_a), matcher.extract(image_b)
    match = matcher.match(fa, fb)          # LocalMatch(inliers, score, pairs)

Extraction: grey image → (optionally) upscaled so that its short side is ``upscale_short_side`` (small crops have
few keypoints otherwise) or shrunk so that its long side is at most ``max_side`` → OpenCV SIFT (at most
``max_keypoints``, strongest first) → RootSIFT (L1-normalise, square root: the Hellinger kernel becomes a dot
product, and descriptors have unit L2 norm). Keypoints are returned in the pixel coordinates of the image given.

Matching: nearest two neighbours of each descriptor of ``a`` in ``b`` → Lowe's ratio test → optional mutual check →
RANSAC (by default a similarity transform, ``geometry="affine"``: rotation + uniform scale + translation; or a
full ``homography``) → the verified inliers. The pair score is, by default (``weighting="ratio"``), the sum over
inliers of ``1 - d1/d2`` (distinctive matches count more, after HotSpotter), or the plain inlier count
(``weighting="inliers"``). Defaults were chosen on the lions *train* split (docs/embedders.md). No model is needed:
it works on any patterned animal.

Bad input: a blank, flat or tiny image (short side < ``min_side``) has no keypoints; ``extract`` returns
:class:`LocalFeatures` with 0 rows and ``match`` a :class:`LocalMatch` with 0 inliers (a documented skip, not an
error). A non-uint8 array or a wrong shape raises :class:`InputError`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendUnavailableError, ConfigError, InputError
from sightings.core.protocols import LocalFeatures, LocalMatch
from sightings.vision.embed.image_input import check_image

__all__ = [
    "PRE_STAMP_SIGNATURE",
    "Geometry",
    "RootSiftMatcher",
    "Weighting",
    "empty_features",
    "no_match",
    "root_sift",
    "rootsift_signature",
]

log = logging.getLogger(__name__)

Geometry = Literal["homography", "affine", "none"]
Weighting = Literal["inliers", "ratio"]
_MIN_SAMPLE = {"homography": 4, "affine": 2, "none": 1}
_DESCRIPTOR_DIM = 128


def empty_features(image_size: tuple[int, int], dim: int = _DESCRIPTOR_DIM) -> LocalFeatures:
    """Features of an image with no keypoints (0 rows)."""
    return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, dim), np.float32), image_size)


def no_match() -> LocalMatch:
    """A pair with no verified correspondence."""
    return LocalMatch(0, 0.0, np.zeros((0, 2), np.int64))


def root_sift(descriptors: npt.NDArray[np.float32], eps: float = 1e-7) -> npt.NDArray[np.float32]:
    """RootSIFT (Arandjelović & Zisserman 2012): L1-normalise each SIFT row, then take the square root."""
    desc = np.asarray(descriptors, np.float32)
    desc = desc / (np.abs(desc).sum(axis=1, keepdims=True) + eps)
    rooted: npt.NDArray[np.float32] = np.sqrt(np.maximum(desc, 0.0)).astype(np.float32)
    return rooted


def rootsift_signature(
    *,
    max_keypoints: int = 1000,
    upscale_short_side: int | None = 256,
    max_side: int = 800,
    min_side: int = 16,
    contrast_threshold: float = 0.04,
    octave_layers: int = 3,
) -> str:
    """:attr:`RootSiftMatcher.signature` for these extraction settings (without building a matcher). OpenCV's
    default of 3 layers per octave is left out, so features stamped before the setting existed still match."""
    layers = "" if octave_layers == 3 else f" octave_layers={octave_layers}"
    return (
        f"rootsift max_keypoints={max_keypoints} upscale_short_side={upscale_short_side} "
        f"max_side={max_side} min_side={min_side} contrast_threshold={contrast_threshold:g}{layers}"
    )


#: What features written before stamps existed were extracted with: RootSIFT at the solutions' old default
#: ``rerank_max_side`` of 400 px (wildlife and pets alike), other settings at their defaults.
PRE_STAMP_SIGNATURE = rootsift_signature(max_side=400)


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise BackendUnavailableError(
            "RootSIFT needs OpenCV", where="local_matcher.rootsift", hint="pip install 'sightings[identity]'"
        ) from exc
    return cv2


class RootSiftMatcher:
    """RootSIFT + ratio test + RANSAC; the score of a pair is its ratio-weighted (or plain) verified inlier count.

    Args:
        max_keypoints: keep at most this many keypoints per image (strongest first).
        upscale_short_side: upscale images whose short side is below this (pixels; ``None``: never upscale).
        max_side: shrink images whose long side is above this (pixels; bounds time on big photos).
        min_side: images whose short side is below this have no keypoints (documented skip).
        ratio: Lowe's ratio test threshold (nearest / second-nearest distance).
        mutual: also require the match to be the nearest neighbour in the other direction.
        geometry: RANSAC model, ``affine`` (rotation + uniform scale + translation) | ``homography`` | ``none``.
        ransac_threshold: reprojection threshold as a fraction of the longer side of image ``b``.
        min_inliers: fewer verified inliers than this count as no match (0 inliers, score 0).
        weighting: pair score, ``inliers`` (count) or ``ratio`` (sum of ``1 - d1/d2`` over inliers).
        contrast_threshold: SIFT contrast threshold (lower finds more keypoints on low-contrast fur).
        octave_layers: scale levels per octave of SIFT's scale space (OpenCV's default 3; 2 finds ~15 % fewer
            keypoints, so extraction and matching are cheaper).
    """

    def __init__(
        self,
        *,
        max_keypoints: int = 1000,
        upscale_short_side: int | None = 256,
        max_side: int = 800,
        min_side: int = 16,
        ratio: float = 0.8,
        mutual: bool = False,
        geometry: Geometry = "affine",
        ransac_threshold: float = 0.03,
        min_inliers: int = 5,
        weighting: Weighting = "ratio",
        contrast_threshold: float = 0.04,
        octave_layers: int = 3,
    ) -> None:
        if max_keypoints < 1:
            raise ConfigError(f"must be >= 1, got {max_keypoints}", where="max_keypoints")
        if upscale_short_side is not None and upscale_short_side < 1:
            raise ConfigError(f"must be >= 1 or None, got {upscale_short_side}", where="upscale_short_side")
        if min_side < 1 or max_side < min_side:
            raise ConfigError(f"need 1 <= min_side <= max_side, got {min_side}, {max_side}", where="min_side")
        if not 0.0 < ratio <= 1.0:
            raise ConfigError(f"must be in (0, 1], got {ratio}", where="ratio")
        if geometry not in _MIN_SAMPLE:
            raise ConfigError(f"unknown geometry {geometry!r} (homography, affine, none)", where="geometry")
        if not ransac_threshold > 0:
            raise ConfigError(f"must be > 0, got {ransac_threshold}", where="ransac_threshold")
        if weighting not in ("inliers", "ratio"):
            raise ConfigError(f"unknown weighting {weighting!r} (inliers, ratio)", where="weighting")
        if min_inliers < 0:
            raise ConfigError(f"must be >= 0, got {min_inliers}", where="min_inliers")
        if not 1 <= octave_layers <= 8:
            raise ConfigError(f"must be in 1..8, got {octave_layers}", where="octave_layers")
        self.max_keypoints = int(max_keypoints)
        self.upscale_short_side = upscale_short_side
        self.max_side = int(max_side)
        self.min_side = int(min_side)
        self.ratio = float(ratio)
        self.mutual = bool(mutual)
        self.geometry: Geometry = geometry
        self.ransac_threshold = float(ransac_threshold)
        self.min_inliers = int(min_inliers)
        self.weighting: Weighting = weighting
        self.contrast_threshold = float(contrast_threshold)
        self.octave_layers = int(octave_layers)
        cv2 = _cv2()
        self._sift = cv2.SIFT_create(
            nfeatures=self.max_keypoints, nOctaveLayers=self.octave_layers, contrastThreshold=self.contrast_threshold
        )

    def __repr__(self) -> str:
        return (
            f"RootSiftMatcher(max_keypoints={self.max_keypoints}, upscale_short_side={self.upscale_short_side}, "
            f"ratio={self.ratio}, geometry={self.geometry!r}, weighting={self.weighting!r})"
        )

    @property
    def signature(self) -> str:
        """The extraction settings (matching settings are left out: they do not change stored features)."""
        return rootsift_signature(
            max_keypoints=self.max_keypoints,
            upscale_short_side=self.upscale_short_side,
            max_side=self.max_side,
            min_side=self.min_side,
            contrast_threshold=self.contrast_threshold,
            octave_layers=self.octave_layers,
        )

    # -- extraction ----------------------------------------------------------------------------------------
    def _working_scale(self, height: int, width: int) -> float:
        short, long = min(height, width), max(height, width)
        if self.upscale_short_side is not None and short < self.upscale_short_side:
            return min(self.upscale_short_side / short, self.max_side / long)
        if long > self.max_side:
            return self.max_side / long
        return 1.0

    def extract(self, image: npt.NDArray[np.uint8]) -> LocalFeatures:
        """Keypoints (in ``image`` pixels) and RootSIFT descriptors; 0 rows for a blank, flat or tiny image."""
        cv2 = _cv2()
        image = check_image(image, "RootSiftMatcher.extract")
        height, width = image.shape[:2]
        size = (int(width), int(height))
        if min(height, width) < self.min_side:
            log.debug("image %dx%d is below min_side=%d: no keypoints", width, height, self.min_side)
            return empty_features(size)
        if image.ndim == 3 and image.shape[2] >= 3:
            grey = cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)
        else:
            grey = np.ascontiguousarray(image.reshape(height, width))
        scale = self._working_scale(height, width)
        if scale != 1.0:
            interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
            grey = cv2.resize(grey, (round(width * scale), round(height * scale)), interpolation=interp)
        keypoints, descriptors = self._sift.detectAndCompute(grey, None)
        if descriptors is None or len(keypoints) == 0:
            return empty_features(size)
        xy = np.array([kp.pt for kp in keypoints], np.float32).reshape(-1, 2)
        xy = (xy + 0.5) / np.float32(scale) - 0.5  # pixel centres back to the given image
        return LocalFeatures(xy.astype(np.float32), root_sift(descriptors), size)

    # -- matching ------------------------------------------------------------------------------------------
    def candidate_pairs(
        self, a: LocalFeatures, b: LocalFeatures
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Ratio-test (and optionally mutual) matches before geometry: (pairs (k, 2), d1/d2 ratios (k,))."""
        empty = (np.zeros((0, 2), np.int64), np.zeros(0, np.float32))
        if len(a) == 0 or len(b) < 2:
            return empty
        if a.descriptors.shape[1] != b.descriptors.shape[1]:
            raise InputError(
                f"descriptor sizes differ: {a.descriptors.shape[1]} vs {b.descriptors.shape[1]}", where="match"
            )
        sim = a.descriptors @ b.descriptors.T  # RootSIFT rows have unit L2 norm: d² = 2 - 2·sim
        rows = np.arange(len(a))
        nearest = np.argmax(sim, axis=1)
        best_of_b = np.argmax(sim, axis=0) if self.mutual else None
        s1 = sim[rows, nearest]
        sim[rows, nearest] = -np.inf
        s2 = sim.max(axis=1)
        d1 = np.sqrt(np.maximum(2.0 - 2.0 * s1, 0.0))
        d2 = np.sqrt(np.maximum(2.0 - 2.0 * s2, 0.0))
        ratios = d1 / np.maximum(d2, 1e-12)
        keep = ratios < self.ratio
        if best_of_b is not None:
            keep &= best_of_b[nearest] == rows
        pairs = np.stack([rows[keep], nearest[keep]], axis=1).astype(np.int64)
        return pairs, ratios[keep].astype(np.float32)

    def match(self, a: LocalFeatures, b: LocalFeatures) -> LocalMatch:
        """Verified correspondences of ``a`` → ``b`` and the pair score (0 inliers when either has no keypoints)."""
        pairs, ratios = self.candidate_pairs(a, b)
        if len(pairs) < max(_MIN_SAMPLE[self.geometry], self.min_inliers, 1):
            return no_match()
        if self.geometry == "none":
            inlier_mask = np.ones(len(pairs), bool)
        else:
            inlier_mask = self._verify(a.keypoints_xy[pairs[:, 0]], b.keypoints_xy[pairs[:, 1]], b.image_size)
        inliers = int(inlier_mask.sum())
        if inliers == 0 or inliers < self.min_inliers:
            return no_match()
        kept = pairs[inlier_mask]
        score = float(inliers) if self.weighting == "inliers" else float((1.0 - ratios[inlier_mask]).sum())
        return LocalMatch(inliers, score, kept)

    def _verify(
        self, src: npt.NDArray[np.float32], dst: npt.NDArray[np.float32], size_b: tuple[int, int]
    ) -> npt.NDArray[np.bool_]:
        cv2 = _cv2()
        threshold = self.ransac_threshold * max(size_b)
        src = np.ascontiguousarray(src, np.float32).reshape(-1, 1, 2)
        dst = np.ascontiguousarray(dst, np.float32).reshape(-1, 1, 2)
        if self.geometry == "homography":
            model, mask = cv2.findHomography(src, dst, cv2.RANSAC, threshold, maxIters=2000, confidence=0.995)
        else:
            model, mask = cv2.estimateAffinePartial2D(
                src, dst, method=cv2.RANSAC, ransacReprojThreshold=threshold, maxIters=2000, confidence=0.995
            )
        if model is None or mask is None:
            return np.zeros(len(src), bool)
        return np.asarray(mask, bool).reshape(-1)

    def score_pair(self, image_a: npt.NDArray[np.uint8], image_b: npt.NDArray[np.uint8]) -> LocalMatch:
        """Extract both images and match them (convenience for one pair)."""
        return self.match(self.extract(image_a), self.extract(image_b))
