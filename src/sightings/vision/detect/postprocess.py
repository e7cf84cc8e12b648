"""Shared pre- and post-processing for detectors: resizing, letterboxing, tiling, SSD anchors, box decoding, NMS.

Everything here is NumPy (plus Pillow for resizing), so it is cheap to import and easy to test:

- :func:`resize_rgb` — stretch an RGB image to a size (Pillow, antialiased when shrinking).
- :func:`letterbox` / :class:`Letterbox` — keep the aspect ratio and pad (YOLO input); map boxes back.
- :func:`tile_grid` / :func:`touches_inner_edge` — overlapping tiles for small objects, and which tile boxes
  were cut by a tile border (drop those: the neighbouring tile or the full frame sees the whole object).
- :class:`SsdAnchorOptions` / :func:`ssd_anchors` — anchor boxes as MediaPipe's ``SsdAnchorsCalculator``
  (= the TF Object Detection API multiple-grid anchor generator) makes them.
- :func:`decode_ssd_boxes` — raw SSD box regressions + anchors → normalised ``xyxy`` boxes.
- :func:`box_iou`, :func:`nms`, :func:`batched_nms` — greedy non-maximum suppression, per class.

Boxes are ``float32`` arrays of shape (N, 4) holding ``x1, y1, x2, y2`` unless a name says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sightings.core.errors import ConfigError, InputError

__all__ = [
    "Letterbox",
    "SsdAnchorOptions",
    "batched_nms",
    "box_iou",
    "clip_boxes",
    "decode_ssd_boxes",
    "letterbox",
    "letterbox_params",
    "nms",
    "nms_options",
    "resize_rgb",
    "sigmoid",
    "ssd_anchors",
    "tile_grid",
    "touches_inner_edge",
    "vote_boxes",
]

FloatArray = npt.NDArray[np.float32]
IndexArray = npt.NDArray[np.intp]
ImageArray = npt.NDArray[np.uint8]


# -- images ----------------------------------------------------------------------------------------------------
def _check_rgb(image: npt.NDArray[np.generic]) -> None:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
        shape = getattr(image, "shape", None)
        raise InputError(f"expected a uint8 RGB array of shape (height, width, 3), got {shape}", where="image")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"empty image of shape {image.shape}", where="image")


def resize_rgb(image: ImageArray, width: int, height: int) -> ImageArray:
    """``image`` (H, W, 3 ``uint8``) stretched to ``width`` × ``height`` (bilinear, antialiased when shrinking)."""
    _check_rgb(image)
    if image.shape[1] == width and image.shape[0] == height:
        return image
    from PIL import Image

    resized = Image.fromarray(np.ascontiguousarray(image)).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a ``src_width`` × ``src_height`` image was scaled by ``scale`` and padded into ``width`` × ``height``."""

    src_width: int
    src_height: int
    width: int
    height: int
    scale: float
    pad_x: int
    pad_y: int

    @property
    def inner_width(self) -> int:
        """Width of the scaled image inside the padded canvas, pixels."""
        return round(self.src_width * self.scale)

    @property
    def inner_height(self) -> int:
        """Height of the scaled image inside the padded canvas, pixels."""
        return round(self.src_height * self.scale)

    def to_source(self, boxes: npt.ArrayLike) -> FloatArray:
        """Boxes in letterboxed-canvas pixels → source-image pixels, clipped to the source image."""
        out = np.array(boxes, dtype=np.float32).reshape(-1, 4)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        return clip_boxes(out, self.src_width, self.src_height)

    def to_canvas(self, boxes: npt.ArrayLike) -> FloatArray:
        """Boxes in source-image pixels → letterboxed-canvas pixels."""
        out = np.array(boxes, dtype=np.float32).reshape(-1, 4)
        out[:, [0, 2]] = out[:, [0, 2]] * self.scale + self.pad_x
        out[:, [1, 3]] = out[:, [1, 3]] * self.scale + self.pad_y
        return out


def clip_boxes(boxes: FloatArray, width: float, height: float) -> FloatArray:
    """Clip (N, 4) ``xyxy`` boxes to a ``width`` × ``height`` image, in place; returns ``boxes``."""
    np.clip(boxes[:, 0::2], 0, width, out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0, height, out=boxes[:, 1::2])
    return boxes


def letterbox_params(src_width: int, src_height: int, width: int, height: int) -> Letterbox:
    """The letterbox that fits ``src_width`` × ``src_height`` into ``width`` × ``height`` (centred, aspect kept)."""
    if min(src_width, src_height, width, height) <= 0:
        raise InputError(f"sizes must be > 0, got {src_width}x{src_height} into {width}x{height}", where="letterbox")
    scale = min(width / src_width, height / src_height)
    inner_w = min(width, max(1, round(src_width * scale)))
    inner_h = min(height, max(1, round(src_height * scale)))
    return Letterbox(src_width, src_height, width, height, scale, (width - inner_w) // 2, (height - inner_h) // 2)


def letterbox(image: ImageArray, width: int, height: int, *, pad_value: int = 114) -> tuple[ImageArray, Letterbox]:
    """``image`` scaled to fit ``width`` × ``height`` with its aspect ratio kept, centred on a ``pad_value`` canvas."""
    _check_rgb(image)
    lb = letterbox_params(int(image.shape[1]), int(image.shape[0]), width, height)
    inner = resize_rgb(image, lb.inner_width, lb.inner_height)
    canvas = np.full((height, width, 3), pad_value, dtype=np.uint8)
    canvas[lb.pad_y : lb.pad_y + inner.shape[0], lb.pad_x : lb.pad_x + inner.shape[1]] = inner
    return canvas, lb


# -- tiles -----------------------------------------------------------------------------------------------------
def tile_grid(
    width: int, height: int, rows: int, cols: int, *, overlap: float = 0.2
) -> list[tuple[int, int, int, int]]:
    """``rows`` × ``cols`` tiles ``(x1, y1, x2, y2)`` covering a ``width`` × ``height`` image.

    Neighbouring tiles overlap by ``overlap`` of a tile's size, so an object up to that size that a tile border
    cuts is whole in the neighbouring tile.
    """
    if rows < 1 or cols < 1:
        raise ConfigError(f"tile grid must be at least 1x1, got {rows}x{cols}", where="tile")
    if not 0.0 <= overlap < 1.0:
        raise ConfigError(f"tile overlap must be in [0, 1), got {overlap}", where="tile_overlap")

    def spans(size: int, n: int) -> list[tuple[int, int]]:
        if n == 1:
            return [(0, size)]
        tile = min(size, math.ceil(size / (n - (n - 1) * overlap)))
        starts = [round(i * (size - tile) / (n - 1)) for i in range(n)]
        return [(s, s + tile) for s in starts]

    return [(x1, y1, x2, y2) for y1, y2 in spans(height, rows) for x1, x2 in spans(width, cols)]


def touches_inner_edge(
    boxes: npt.ArrayLike, tile: tuple[int, int, int, int], width: int, height: int, *, margin: float = 2.0
) -> npt.NDArray[np.bool_]:
    """Which ``boxes`` (image pixels) reach a border of ``tile`` that is not a border of the image.

    Such a box was probably cut by the tile border; another tile (or the full frame) sees the whole object.
    """
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    x1, y1, x2, y2 = tile
    hit = np.zeros(len(b), dtype=bool)
    if x1 > 0:
        hit |= b[:, 0] <= x1 + margin
    if y1 > 0:
        hit |= b[:, 1] <= y1 + margin
    if x2 < width:
        hit |= b[:, 2] >= x2 - margin
    if y2 < height:
        hit |= b[:, 3] >= y2 - margin
    return hit


# -- SSD anchors and box decoding --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SsdAnchorOptions:
    """SSD anchor generation in MediaPipe ``SsdAnchorsCalculatorOptions`` terms (defaults: SSD-MobileNetV2 300×300).

    Per layer the anchor scale runs linearly from ``min_scale`` to ``max_scale``; each cell gets one anchor per
    aspect ratio plus one of ratio ``interpolated_scale_aspect_ratio`` at the geometric mean of this layer's and
    the next layer's scale. With ``reduce_boxes_in_lowest_layer`` the first layer has 3 anchors only: scale 0.1
    ratio 1, and ratios 2 and 0.5 at its scale. Consecutive layers of equal stride share one grid.
    """

    input_width: int = 300
    input_height: int = 300
    num_layers: int = 6
    min_scale: float = 0.2
    max_scale: float = 0.95
    strides: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5, 3.0, 0.3333)
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5
    reduce_boxes_in_lowest_layer: bool = True
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = False

    def __post_init__(self) -> None:
        if len(self.strides) != self.num_layers:
            raise ConfigError(
                f"{self.num_layers} layers need {self.num_layers} strides, got {len(self.strides)}", where="anchors"
            )
        if self.num_layers < 1 or min(self.strides) < 1 or not self.aspect_ratios:
            raise ConfigError("anchors need >= 1 layer, strides >= 1 and some aspect ratios", where="anchors")


def _layer_scale(options: SsdAnchorOptions, index: int) -> float:
    if options.num_layers == 1:
        return (options.min_scale + options.max_scale) / 2
    return options.min_scale + (options.max_scale - options.min_scale) * index / (options.num_layers - 1)


def ssd_anchors(options: SsdAnchorOptions | None = None) -> FloatArray:
    """Anchors as an (N, 4) array of ``x_center, y_center, width, height``, normalised to [0, 1] of the input.

    Order matches the model outputs: layer by layer, then row, column, anchor within the cell.
    """
    opt = options or SsdAnchorOptions()
    out: list[FloatArray] = []
    layer = 0
    while layer < opt.num_layers:
        ratios: list[float] = []
        scales: list[float] = []
        last = layer
        while last < opt.num_layers and opt.strides[last] == opt.strides[layer]:
            scale = _layer_scale(opt, last)
            if last == 0 and opt.reduce_boxes_in_lowest_layer:
                ratios += [1.0, 2.0, 0.5]
                scales += [0.1, scale, scale]
            else:
                ratios += list(opt.aspect_ratios)
                scales += [scale] * len(opt.aspect_ratios)
                if opt.interpolated_scale_aspect_ratio > 0:
                    nxt = 1.0 if last == opt.num_layers - 1 else _layer_scale(opt, last + 1)
                    ratios.append(opt.interpolated_scale_aspect_ratio)
                    scales.append(math.sqrt(scale * nxt))
            last += 1
        r = np.sqrt(np.asarray(ratios, dtype=np.float64))
        s = np.asarray(scales, dtype=np.float64)
        anchor_w, anchor_h = s * r, s / r
        stride = opt.strides[layer]
        rows = math.ceil(opt.input_height / stride)
        cols = math.ceil(opt.input_width / stride)
        yy, xx, kk = np.meshgrid(np.arange(rows), np.arange(cols), np.arange(len(ratios)), indexing="ij")
        cells = np.empty((rows, cols, len(ratios), 4), dtype=np.float64)
        cells[..., 0] = (xx + opt.anchor_offset_x) / cols
        cells[..., 1] = (yy + opt.anchor_offset_y) / rows
        cells[..., 2] = 1.0 if opt.fixed_anchor_size else anchor_w[kk]
        cells[..., 3] = 1.0 if opt.fixed_anchor_size else anchor_h[kk]
        out.append(cells.reshape(-1, 4).astype(np.float32))
        layer = last
    return np.concatenate(out, axis=0)


def decode_ssd_boxes(
    raw: npt.ArrayLike,
    anchors: FloatArray,
    *,
    scales: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0),
    order: str = "yxhw",
    exponential_size: bool = True,
) -> FloatArray:
    """Raw box regressions (N, ≥4) → normalised ``xyxy`` boxes (N, 4) (the SSD "faster R-CNN" box coder).

    ``scales`` are the box coder's (y, x, h, w) scales; ``order`` says how the first four raw values are ordered
    (``"yxhw"`` for TF Object Detection models, ``"xywh"`` for MediaPipe Blaze models). Centre offsets are in
    anchor sizes, sizes are ``exp(raw / scale) × anchor size`` (or ``raw / scale × anchor size`` when
    ``exponential_size`` is false).
    """
    r = np.asarray(raw, dtype=np.float32)
    if r.ndim != 2 or r.shape[1] < 4 or r.shape[0] != anchors.shape[0]:
        raise InputError(f"raw boxes {r.shape} do not match anchors {anchors.shape}", where="decode_ssd_boxes")
    if order == "yxhw":
        ty, tx, th, tw = r[:, 0], r[:, 1], r[:, 2], r[:, 3]
    elif order == "xywh":
        tx, ty, tw, th = r[:, 0], r[:, 1], r[:, 2], r[:, 3]
    else:
        raise ConfigError(f"unknown box order {order!r} (yxhw or xywh)", where="order")
    y_scale, x_scale, h_scale, w_scale = scales
    ax, ay, aw, ah = anchors[:, 0], anchors[:, 1], anchors[:, 2], anchors[:, 3]
    xc = tx / x_scale * aw + ax
    yc = ty / y_scale * ah + ay
    if exponential_size:
        w = np.exp(np.minimum(tw / w_scale, 20.0)) * aw
        h = np.exp(np.minimum(th / h_scale, 20.0)) * ah
    else:
        w = tw / w_scale * aw
        h = th / h_scale * ah
    return np.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], axis=1).astype(np.float32)


def sigmoid(x: npt.ArrayLike) -> FloatArray:
    """The logistic function, without overflow warnings for large negative inputs."""
    a = np.asarray(x, dtype=np.float32)
    out: FloatArray = (0.5 * (1.0 + np.tanh(0.5 * a))).astype(np.float32)
    return out


# -- non-maximum suppression ------------------------------------------------------------------------------------
def box_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Pairwise IoU of boxes ``a`` (N, 4) and ``b`` (M, 4) → (N, M); 0 where both are empty."""
    aa = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    bb = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    ix = np.clip(np.minimum(aa[:, None, 2], bb[None, :, 2]) - np.maximum(aa[:, None, 0], bb[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(aa[:, None, 3], bb[None, :, 3]) - np.maximum(aa[:, None, 1], bb[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = np.clip(aa[:, 2] - aa[:, 0], 0, None) * np.clip(aa[:, 3] - aa[:, 1], 0, None)
    area_b = np.clip(bb[:, 2] - bb[:, 0], 0, None) * np.clip(bb[:, 3] - bb[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0).astype(np.float32)


def nms_options(iou_threshold: float, max_detections: int) -> tuple[float, int]:
    """A detector's NMS settings, checked: (IoU threshold in [0, 1], at least one detection per frame)."""
    if not 0.0 <= iou_threshold <= 1.0:
        raise ConfigError(f"must be in [0, 1], got {iou_threshold}", where="iou_threshold")
    if max_detections < 1:
        raise ConfigError(f"must be >= 1, got {max_detections}", where="max_detections")
    return float(iou_threshold), int(max_detections)


def nms(
    boxes: npt.ArrayLike, scores: npt.ArrayLike, iou_threshold: float, *, max_detections: int | None = None
) -> IndexArray:
    """Greedy NMS: indices of the kept boxes, highest score first.

    A box is dropped when its IoU with an already kept, higher-scoring box is above ``iou_threshold``.
    Ties in score keep the earlier box.
    """
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float32).reshape(-1)
    if len(b) != len(s):
        raise InputError(f"{len(b)} boxes but {len(s)} scores", where="nms")
    order = np.argsort(-s, kind="stable")
    areas = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    keep: list[int] = []
    limit = len(b) if max_detections is None else max_detections
    while order.size and len(keep) < limit:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        ix = np.clip(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]), 0, None)
        iy = np.clip(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]), 0, None)
        inter = ix * iy
        union = areas[i] + areas[rest] - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.intp)


def batched_nms(
    boxes: npt.ArrayLike,
    scores: npt.ArrayLike,
    class_ids: npt.ArrayLike,
    iou_threshold: float,
    *,
    max_detections: int | None = None,
) -> IndexArray:
    """Per-class NMS (boxes of different classes never suppress each other): kept indices, highest score first."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    c = np.asarray(class_ids).reshape(-1)
    if len(b) != len(c):
        raise InputError(f"{len(b)} boxes but {len(c)} class ids", where="batched_nms")
    if len(b) == 0:
        return np.zeros(0, dtype=np.intp)
    # Shift each class to its own region of the plane, so boxes of different classes cannot overlap.
    span = float(np.abs(b).max()) * 2 + 1
    _, class_index = np.unique(c, return_inverse=True)
    shifted = b + (class_index.astype(np.float32) * span)[:, None]
    return nms(shifted, scores, iou_threshold, max_detections=max_detections)


def vote_boxes(
    boxes: npt.ArrayLike,
    scores: npt.ArrayLike,
    class_ids: npt.ArrayLike,
    keep: npt.ArrayLike,
    iou_threshold: float,
) -> FloatArray:
    """Box voting (Gidaris & Komodakis, 2015): each kept box becomes the score-weighted mean of all candidates of
    its class that overlap it by IoU >= ``iou_threshold`` (itself included). Scores and the kept set are unchanged.

    Candidates from the whole frame and from overlapping tiles each localise an object a little differently;
    their mean is closer to the object than the single best-scoring box. Returns the (len(keep), 4) boxes.
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise InputError(f"must be in (0, 1], got {iou_threshold}", where="box_voting")
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float32).reshape(-1)
    c = np.asarray(class_ids).reshape(-1)
    k = np.asarray(keep, dtype=np.intp).reshape(-1)
    out = b[k].copy()
    if len(k) == 0:
        return out
    overlap = box_iou(b[k], b) >= iou_threshold
    overlap &= c[k][:, None] == c[None, :]
    weights = overlap * s[None, :]
    total = weights.sum(axis=1, keepdims=True)
    voted = (weights @ b) / np.where(total > 0, total, 1)
    return np.where(total > 0, voted, out).astype(np.float32)
