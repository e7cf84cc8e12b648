"""A fast, weights-free global descriptor for the first-stage kNN: HSV colour histograms + LBP texture histograms.

    emb = ColorTextureEmbedder()
    vectors = emb.embed([crop1, crop2])     # (2, emb.dim) float32, L2-normalised rows; cosine = dot product

Each crop is resized to ``size`` × ``size`` (aspect not kept: crops are compared as wholes), then described by

- **colour**: a joint HSV histogram (``hsv_bins`` = hue × saturation × value bins, 12 × 6 × 4 by default; grey
  pixels share one hue bin) over the whole crop and over each cell of a ``grid`` × ``grid`` layout (a two-level
  spatial pyramid: the layout of coat colour, and a layout-free summary that survives a different crop);
- **texture**: rotation-invariant uniform LBP codes (8 neighbours, radii 1 and 2; 10 bins each) over the same cells
  — fur, spots, stripes and wrinkles, independent of colour and lighting level.

Every histogram is L1-normalised, square-rooted (Hellinger kernel: cosine of the result = Bhattacharyya
similarity) and weighted per family; the concatenation is L2-normalised. About 1 ms per crop on one CPU core.
Why this one, and its parameters chosen on the lions *train* split, are in docs/embedders.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendUnavailableError, ConfigError, InputError
from sightings.vision.embed.image_input import check_image, to_rgb

__all__ = ["ColorTextureEmbedder", "lbp_codes", "lbp_riu2_table"]

Texture = Literal["lbp", "none"]
_LBP_BINS = 10  # riu2 with 8 neighbours: 9 uniform patterns (by number of 1s) + 1 for all non-uniform ones
_MIN_SIDE = 4


def lbp_riu2_table() -> npt.NDArray[np.uint8]:
    """Map an 8-bit LBP code to its rotation-invariant uniform bin (0..8 = number of set bits, 9 = non-uniform)."""
    table = np.zeros(256, np.uint8)
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        transitions = sum(bits[i] != bits[(i + 1) % 8] for i in range(8))
        table[code] = sum(bits) if transitions <= 2 else 9
    return table


_RIU2 = lbp_riu2_table()


def lbp_codes(grey: npt.NDArray[np.float32], radius: int = 1, threshold: float = 0.0) -> npt.NDArray[np.uint8]:
    """riu2 LBP bin of each interior pixel of ``grey`` (8 neighbours at ``radius``; the border is cropped).

    A neighbour sets its bit when ``neighbour >= centre + threshold`` (a small threshold keeps sensor noise on
    flat fur from flipping bits).
    """
    h, w = grey.shape
    centre = grey[radius : h - radius, radius : w - radius]
    code = np.zeros(centre.shape, np.uint8)
    offsets = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
    for bit, (dy, dx) in enumerate(offsets):
        y0, x0 = radius + dy * radius, radius + dx * radius
        neighbour = grey[y0 : y0 + centre.shape[0], x0 : x0 + centre.shape[1]]
        code |= (neighbour >= centre + threshold).astype(np.uint8) << bit
    return _RIU2[code]


def _cells(height: int, width: int, grid: int) -> list[tuple[slice, slice]]:
    """The whole image, then ``grid`` × ``grid`` cells (row-major)."""
    cells = [(slice(0, height), slice(0, width))]
    if grid > 1:
        ys = np.linspace(0, height, grid + 1).round().astype(int)
        xs = np.linspace(0, width, grid + 1).round().astype(int)
        cells += [(slice(ys[i], ys[i + 1]), slice(xs[j], xs[j + 1])) for i in range(grid) for j in range(grid)]
    return cells


def _hist(values: npt.NDArray[Any], bins: int, power: float) -> npt.NDArray[np.float32]:
    counts = np.bincount(values.ravel(), minlength=bins)[:bins].astype(np.float32)
    total = counts.sum()
    if total > 0:
        counts /= total
    return np.power(counts, power, dtype=np.float32)


class ColorTextureEmbedder:
    """HSV colour + LBP texture histograms over a 2-level spatial pyramid; L2-normalised float32 rows.

    Args:
        size: crops are resized to ``size`` × ``size`` pixels first.
        hsv_bins: (hue, saturation, value) bins of the joint colour histogram.
        grid: cells per side of the finer pyramid level (1: whole image only).
        texture: ``lbp`` or ``none``.
        colour_weight: weight of the colour block (before the final L2 normalisation).
        texture_weight: weight of the texture block.
        power: exponent applied to each L1-normalised histogram (0.5 = Hellinger; 1 = plain).
        lbp_threshold: grey levels a neighbour must exceed the centre by to set its LBP bit (noise robustness).
        achromatic_saturation: pixels with saturation below this (0-255) all go to hue bin 0: the hue of a grey
            pixel is noise (0 turns this off).
    """

    def __init__(
        self,
        *,
        size: int = 96,
        hsv_bins: Sequence[int] = (12, 6, 4),
        grid: int = 2,
        texture: Texture = "lbp",
        colour_weight: float = 1.0,
        texture_weight: float = 1.0,
        power: float = 0.5,
        lbp_threshold: float = 4.0,
        achromatic_saturation: int = 12,
    ) -> None:
        bins = tuple(int(b) for b in hsv_bins)
        if len(bins) != 3 or min(bins) < 1 or max(bins) > 64:
            raise ConfigError(f"hsv_bins must be 3 integers in 1..64, got {hsv_bins!r}", where="hsv_bins")
        if not 8 <= size <= 1024:
            raise ConfigError(f"must be in 8..1024, got {size}", where="size")
        if not 1 <= grid <= 8:
            raise ConfigError(f"must be in 1..8, got {grid}", where="grid")
        if texture not in ("lbp", "none"):
            raise ConfigError(f"unknown texture {texture!r} (lbp, none)", where="texture")
        if colour_weight < 0 or texture_weight < 0 or colour_weight + texture_weight == 0:
            raise ConfigError("weights must be >= 0 and not both 0", where="colour_weight")
        if not 0 < power <= 1:
            raise ConfigError(f"must be in (0, 1], got {power}", where="power")
        self.size = int(size)
        self.hsv_bins = bins
        self.grid = int(grid)
        self.texture: Texture = texture
        self.colour_weight = float(colour_weight)
        self.texture_weight = float(texture_weight) if texture != "none" else 0.0
        self.power = float(power)
        if lbp_threshold < 0:
            raise ConfigError(f"must be >= 0, got {lbp_threshold}", where="lbp_threshold")
        self.lbp_threshold = float(lbp_threshold)
        if not 0 <= achromatic_saturation <= 255:
            raise ConfigError(f"must be in 0..255, got {achromatic_saturation}", where="achromatic_saturation")
        self.achromatic_saturation = int(achromatic_saturation)
        cells = 1 + (self.grid * self.grid if self.grid > 1 else 0)
        self._colour_dim = cells * bins[0] * bins[1] * bins[2]
        self._texture_dim = cells * 2 * _LBP_BINS if texture == "lbp" else 0
        self.dim = self._colour_dim + self._texture_dim

    def __repr__(self) -> str:
        return (
            f"ColorTextureEmbedder(size={self.size}, hsv_bins={self.hsv_bins}, grid={self.grid}, "
            f"texture={self.texture!r}, dim={self.dim})"
        )

    def _describe(self, image: npt.NDArray[np.uint8], cv2: Any) -> npt.NDArray[np.float32]:
        rgb = cv2.resize(to_rgb(image), (self.size, self.size), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.int32)  # H 0..179, S, V 0..255
        hb, sb, vb = self.hsv_bins
        hue_bin = hsv[..., 0] * hb // 180
        sat_bin = hsv[..., 1] * sb // 256
        if self.achromatic_saturation > 0:
            hue_bin = np.where(hsv[..., 1] < self.achromatic_saturation, 0, hue_bin)  # hue is noise on grey pixels
        joint = hue_bin * (sb * vb) + sat_bin * vb + hsv[..., 2] * vb // 256
        n_colour = hb * sb * vb
        parts = [
            self.colour_weight * _hist(joint[ys, xs], n_colour, self.power)
            for ys, xs in _cells(self.size, self.size, self.grid)
        ]
        if self.texture == "lbp":
            grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
            for radius in (1, 2):
                codes = np.pad(lbp_codes(grey, radius, self.lbp_threshold), radius, mode="edge")
                parts += [
                    self.texture_weight * _hist(codes[ys, xs], _LBP_BINS, self.power)
                    for ys, xs in _cells(self.size, self.size, self.grid)
                ]
        vec = np.concatenate(parts).astype(np.float32)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else vec

    def embed(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        """One L2-normalised row per image; an image smaller than 4×4 or not uint8 → :class:`InputError`."""
        try:
            import cv2
        except ImportError as exc:
            raise BackendUnavailableError(
                "the colour-texture embedder needs OpenCV",
                where="embedder.color-texture",
                hint="pip install 'sightings[identity]'",
            ) from exc
        out = np.zeros((len(images), self.dim), np.float32)
        for i, image in enumerate(images):
            checked = check_image(image, f"ColorTextureEmbedder image {i}")
            if min(checked.shape[:2]) < _MIN_SIDE:
                raise InputError(
                    f"image {i} is {checked.shape[1]}×{checked.shape[0]}, below the {_MIN_SIDE}×{_MIN_SIDE} minimum",
                    where="ColorTextureEmbedder",
                )
            out[i] = self._describe(checked, cv2)
        return out
