"""Why two crops were matched: keypoint correspondences and an occlusion-sensitivity heatmap.

    explanation = explain_pair(query, match, embedder=ColorTextureEmbedder(), matcher=RootSiftMatcher(), grid=8)
    write_png("why.png", explanation.composite)

- :func:`draw_correspondences`: the two images side by side (same height), a line per verified inlier pair of a
  :class:`LocalMatch`.
- :func:`occlusion_sensitivity`: a grey patch slides over the query on a ``grid`` × ``grid`` layout; for each cell,
  the drop of cosine similarity between the occluded query's embedding and the match's is recorded. Large drops
  mark the regions the embedder relied on. The result is a heatmap overlaid on the query (:func:`overlay_heatmap`).
- :func:`compose` stacks both with a caption; :func:`write_png` writes it atomically.

All images are RGB ``uint8`` NumPy arrays. Drawing uses OpenCV (imported on first use).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import atomic_write_bytes
from sightings.core.errors import BackendUnavailableError, ConfigError, InputError
from sightings.core.protocols import Embedder, LocalFeatures, LocalMatch, LocalMatcher

__all__ = [
    "Explanation",
    "OcclusionMap",
    "compose",
    "draw_correspondences",
    "explain_pair",
    "occlusion_sensitivity",
    "overlay_heatmap",
    "write_png",
]

_PALETTE = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128),
)  # fmt: skip
_GREY = 128


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise BackendUnavailableError(
            "explanations need OpenCV", where="explain", hint="pip install 'sightings[identity]'"
        ) from exc
    return cv2


def _rgb(image: Any, where: str) -> npt.NDArray[np.uint8]:
    from sightings.vision.embed.image_input import check_image, to_rgb

    return to_rgb(check_image(image, where))


def _resize_to_height(image: npt.NDArray[np.uint8], height: int) -> tuple[npt.NDArray[np.uint8], float]:
    cv2 = _cv2()
    scale = height / image.shape[0]
    width = max(1, round(image.shape[1] * scale))
    interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    return cv2.resize(image, (width, height), interpolation=interp), scale


@dataclass(frozen=True, slots=True)
class OcclusionMap:
    """Occlusion sensitivity of a query against a match."""

    drops: npt.NDArray[np.float32]  # (grid, grid): base similarity - similarity with that cell occluded
    base_similarity: float  # cosine similarity of the un-occluded query and the match
    heatmap: npt.NDArray[np.float32]  # (H, W) of the query, in [0, 1]: positive drops / the largest drop


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything :func:`explain_pair` computed, and the composite picture."""

    local_match: LocalMatch
    occlusion: OcclusionMap
    correspondences: npt.NDArray[np.uint8]
    overlay: npt.NDArray[np.uint8]
    composite: npt.NDArray[np.uint8]


def draw_correspondences(
    image_a: npt.NDArray[np.uint8],
    image_b: npt.NDArray[np.uint8],
    features_a: LocalFeatures,
    features_b: LocalFeatures,
    match: LocalMatch,
    *,
    height: int = 256,
    max_lines: int = 200,
) -> npt.NDArray[np.uint8]:
    """``image_a`` and ``image_b`` side by side at ``height`` pixels, a line for each inlier pair of ``match``."""
    cv2 = _cv2()
    if height < 8:
        raise ConfigError(f"must be >= 8, got {height}", where="height")
    a, scale_a = _resize_to_height(_rgb(image_a, "image_a"), height)
    b, scale_b = _resize_to_height(_rgb(image_b, "image_b"), height)
    gap = 8
    canvas = np.full((height, a.shape[1] + gap + b.shape[1], 3), 255, np.uint8)
    canvas[:, : a.shape[1]] = a
    canvas[:, a.shape[1] + gap :] = b
    offset = a.shape[1] + gap
    pairs = match.pairs[:max_lines]
    if len(pairs) and (pairs[:, 0].max() >= len(features_a) or pairs[:, 1].max() >= len(features_b)):
        raise InputError("match pairs index keypoints the features do not have", where="draw_correspondences")
    for k, (i, j) in enumerate(pairs):
        xa, ya = features_a.keypoints_xy[i] * scale_a
        xb, yb = features_b.keypoints_xy[j] * scale_b
        p1 = (round(float(xa)), round(float(ya)))
        p2 = (round(float(xb)) + offset, round(float(yb)))
        colour = _PALETTE[k % len(_PALETTE)]
        cv2.line(canvas, p1, p2, colour, 1, cv2.LINE_AA)
        cv2.circle(canvas, p1, 3, colour, 1, cv2.LINE_AA)
        cv2.circle(canvas, p2, 3, colour, 1, cv2.LINE_AA)
    return canvas


def _grid_cells(height: int, width: int, grid: int) -> list[tuple[int, int, int, int]]:
    ys = np.linspace(0, height, grid + 1).round().astype(int)
    xs = np.linspace(0, width, grid + 1).round().astype(int)
    return [(ys[r], ys[r + 1], xs[c], xs[c + 1]) for r in range(grid) for c in range(grid)]


def occlusion_sensitivity(
    embedder: Embedder,
    query: npt.NDArray[np.uint8],
    match: npt.NDArray[np.uint8],
    *,
    grid: int = 8,
    fill: int = _GREY,
    batch_size: int = 32,
) -> OcclusionMap:
    """Slide a ``fill``-grey patch over ``query`` on a ``grid`` × ``grid`` layout; record the cosine drop per cell."""
    if not 1 <= grid <= 64:
        raise ConfigError(f"must be in 1..64, got {grid}", where="grid")
    q = _rgb(query, "query")
    m = _rgb(match, "match")
    h, w = q.shape[:2]
    if grid > min(h, w):
        raise InputError(f"grid {grid} is finer than the {w}×{h} query (one pixel per cell at most)", where="grid")
    base = embedder.embed([q, m])
    ref = base[1] / max(float(np.linalg.norm(base[1])), 1e-12)
    base_q = base[0] / max(float(np.linalg.norm(base[0])), 1e-12)
    base_sim = float(base_q @ ref)
    cells = _grid_cells(h, w, grid)
    sims = np.zeros(len(cells), np.float32)
    for start in range(0, len(cells), batch_size):
        batch = []
        for y0, y1, x0, x1 in cells[start : start + batch_size]:
            occluded = q.copy()
            occluded[y0:y1, x0:x1] = fill
            batch.append(occluded)
        vecs = embedder.embed(batch)
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        sims[start : start + len(batch)] = vecs @ ref
    drops = (base_sim - sims).reshape(grid, grid).astype(np.float32)
    heat = np.zeros((h, w), np.float32)
    top = float(drops.max())
    if top > 0:
        for (y0, y1, x0, x1), drop in zip(cells, drops.ravel(), strict=True):
            heat[y0:y1, x0:x1] = max(float(drop), 0.0) / top
    return OcclusionMap(drops, base_sim, heat)


def overlay_heatmap(
    image: npt.NDArray[np.uint8], heatmap: npt.NDArray[np.float32], *, alpha: float = 0.5
) -> npt.NDArray[np.uint8]:
    """``heatmap`` (H, W) in [0, 1] as a JET colour map blended over the RGB ``image``."""
    cv2 = _cv2()
    rgb = _rgb(image, "image")
    if heatmap.shape != rgb.shape[:2]:
        raise InputError(f"heatmap shape {heatmap.shape} != image shape {rgb.shape[:2]}", where="overlay_heatmap")
    if not 0 <= alpha <= 1:
        raise ConfigError(f"must be in [0, 1], got {alpha}", where="alpha")
    heat_u8 = np.clip(heatmap * 255.0, 0, 255).astype(np.uint8)
    coloured = cv2.cvtColor(cv2.applyColorMap(heat_u8, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    blended: npt.NDArray[np.uint8] = cv2.addWeighted(rgb, 1.0 - alpha, coloured, alpha, 0.0)
    return blended


def _caption(width: int, lines: Sequence[str]) -> npt.NDArray[np.uint8]:
    cv2 = _cv2()
    strip = np.full((18 * len(lines) + 6, width, 3), 255, np.uint8)
    for k, text in enumerate(lines):
        cv2.putText(strip, text, (6, 18 * (k + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (20, 20, 20), 1, cv2.LINE_AA)
    return strip


def _hstack(images: Sequence[npt.NDArray[np.uint8]], gap: int = 8) -> npt.NDArray[np.uint8]:
    height = max(im.shape[0] for im in images)
    width = sum(im.shape[1] for im in images) + gap * (len(images) - 1)
    canvas = np.full((height, width, 3), 255, np.uint8)
    x = 0
    for im in images:
        canvas[: im.shape[0], x : x + im.shape[1]] = im
        x += im.shape[1] + gap
    return canvas


def _vstack(images: Sequence[npt.NDArray[np.uint8]], gap: int = 8) -> npt.NDArray[np.uint8]:
    width = max(im.shape[1] for im in images)
    height = sum(im.shape[0] for im in images) + gap * (len(images) - 1)
    canvas = np.full((height, width, 3), 255, np.uint8)
    y = 0
    for im in images:
        canvas[y : y + im.shape[0], : im.shape[1]] = im
        y += im.shape[0] + gap
    return canvas


def compose(
    correspondences: npt.NDArray[np.uint8],
    overlay: npt.NDArray[np.uint8],
    match_image: npt.NDArray[np.uint8],
    captions: Sequence[str],
    *,
    height: int = 256,
) -> npt.NDArray[np.uint8]:
    """Caption, then the correspondences, then the heatmap over the query beside the match."""
    heat_row = _hstack(
        [_resize_to_height(overlay, height)[0], _resize_to_height(_rgb(match_image, "match"), height)[0]]
    )
    width = max(correspondences.shape[1], heat_row.shape[1])
    return _vstack([_caption(width, captions), correspondences, heat_row])


def explain_pair(
    query: npt.NDArray[np.uint8],
    match: npt.NDArray[np.uint8],
    *,
    embedder: Embedder,
    matcher: LocalMatcher,
    grid: int = 8,
    height: int = 256,
    labels: tuple[str, str] = ("query", "match"),
) -> Explanation:
    """Local-feature correspondences + occlusion sensitivity of ``embedder`` for one pair, and their composite."""
    fq, fm = matcher.extract(query), matcher.extract(match)
    local = matcher.match(fq, fm)
    lines = draw_correspondences(query, match, fq, fm, local, height=height)
    occ = occlusion_sensitivity(embedder, query, match, grid=grid)
    overlay = overlay_heatmap(query, occ.heatmap)
    captions = [
        f"{labels[0]} vs {labels[1]}",
        f"local features: {local.inliers} verified inliers (score {local.score:.1f}; keypoints {len(fq)} / {len(fm)})",
        f"embedding cosine {occ.base_similarity:.3f}",
        f"heatmap: cosine drop when a cell is greyed out (max {float(occ.drops.max()):.3f})",
    ]
    composite = compose(lines, overlay, match, captions, height=height)
    return Explanation(local, occ, lines, overlay, composite)


def write_png(path: str | os.PathLike[str], image: npt.NDArray[np.uint8]) -> Path:
    """Write an RGB image as PNG through a temporary file and an atomic rename."""
    cv2 = _cv2()
    rgb = _rgb(image, "image")
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB image
        raise InputError("PNG encoding failed", where=path)
    return atomic_write_bytes(path, encoded.tobytes())
