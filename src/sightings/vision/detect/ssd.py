"""SSD-MobileNetV2 trained on OpenImages v4 (TFLite, run by ``ai-edge-litert``): the offline default detector.

The model (``ssd-mobilenetv2-oidv4`` in the models directory, from npm ``@mediapipe/objectron``) takes an RGB
300×300 image stretched from the frame and scaled to [-1, 1], and gives *raw* SSD outputs: box regressions
(1, 1917, 4) in ``ty, tx, th, tw`` order and class logits (1, 1917, 24), column 0 being background. Decoding:

1. anchors from :class:`~sightings.vision.detect.postprocess.SsdAnchorOptions` (6 layers, scales 0.2→0.95,
   strides 16…512, aspect ratios 1, 2, 0.5, 3, 1/3 + an interpolated-scale anchor, lowest layer 3 boxes) —
   their count must equal the model's output rows;
2. box coder with scales y = x = 10, h = w = 5 (centres relative to anchor size, ``exp`` sizes);
3. sigmoid of the logits of the wanted classes, a score threshold per class;
4. per-class NMS, at most ``max_detections`` boxes per frame.

People in surveillance frames are small for a 300×300 input: ``tile=True`` (2×2) or ``tile=(rows, cols)`` also
runs the model on overlapping tiles, drops tile boxes cut by an inner tile border and merges all by NMS.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendError, BackendUnavailableError, ConfigError, InputError
from sightings.core.types import Box, Detection, Frame
from sightings.vision.detect.model_files import class_thresholds, locate_model, read_labels
from sightings.vision.detect.postprocess import (
    SsdAnchorOptions,
    batched_nms,
    clip_boxes,
    decode_ssd_boxes,
    nms_options,
    resize_rgb,
    sigmoid,
    ssd_anchors,
    tile_grid,
    touches_inner_edge,
    vote_boxes,
)

__all__ = [
    "DEFAULT_CLASSES",
    "MODEL_NAME",
    "OIDV4_LABELMAP",
    "SsdDetector",
    "TileSpec",
    "oidv4_label",
    "parse_tile_grids",
]

log = logging.getLogger(__name__)

MODEL_NAME = "ssd-mobilenetv2-oidv4"
"""Name of the model folder in the models directory (``sightings models install`` puts it there)."""

OIDV4_LABELMAP: tuple[str, ...] = (
    "???",
    "Bicycle",
    "Boot",
    "Laptop",
    "Person",
    "Chair",
    "Cattle",
    "Desk",
    "Cat",
    "Computer mouse",
    "Computer monitor",
    "Box",
    "Mug",
    "Coffee cup",
    "Stationary bicycle",
    "Table",
    "Bottle",
    "High heels",
    "Vehicle",
    "Footwear",
    "Dog",
    "Book",
    "Camera",
    "Car",
)
"""``object_detection_oidv4_labelmap.txt`` (score column i = line i; column 0 is background), used when the
model folder has no labels file."""

DEFAULT_CLASSES = ("Person", "Cat", "Dog")
DEFAULT_SCORE_THRESHOLD = 0.45
DEFAULT_TILED_SCORE_THRESHOLD = 0.50
DEFAULT_MULTI_TILED_SCORE_THRESHOLD = 0.55
DEFAULT_BOX_VOTING = 0.65
"""Defaults whole frame / one tile grid / several grids: chosen by tracking MOTA on PETS09-S2L1 frames 1–200
(docs/tracking.md)."""
_BACKGROUND = "???"
_VISION_HINT = "pip install 'sightings[vision]'"
_INSTALL_HINT = "run `sightings models install` (offline default models) or `sightings models import FILE`"


def oidv4_label(name: str) -> str:
    """Our label for an OpenImages class name: lower case, spaces as underscores (``"Coffee cup"`` → ``coffee_cup``)."""
    return "_".join(name.strip().lower().replace("_", " ").split())


def _labels_beside(model_path: Path) -> Path | None:
    for pattern in ("*labelmap*.txt", "labels.txt", f"{model_path.stem}.txt"):
        found = sorted(model_path.parent.glob(pattern))
        if found:
            return found[0]
    return None


TileSpec = bool | str | Sequence[int] | Sequence[Sequence[int]] | None
"""``True`` (2×2), ``False``/``None``, ``(rows, cols)``, ``[(rows, cols), ...]`` or text ``"2x2,2x3"``."""


def _parse_grid(value: object, spec: object) -> tuple[int, int] | None:
    try:
        if isinstance(value, str):
            rows_text, _, cols_text = value.strip().lower().partition("x")
            rows, cols = int(rows_text), int(cols_text)
        else:
            rows, cols = (int(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ConfigError(
            f"tile must be true/false, [rows, cols], a list of them, or text like '2x2,2x3'; got {spec!r}", where="tile"
        ) from None
    if rows < 1 or cols < 1:
        raise ConfigError(f"tile grid must be at least 1x1, got {rows}x{cols}", where="tile")
    return None if (rows, cols) == (1, 1) else (rows, cols)


def parse_tile_grids(tile: TileSpec) -> tuple[tuple[int, int], ...]:
    """The tile grids a ``tile`` option asks for (empty: whole frame only)."""
    if tile is True:
        return ((2, 2),)
    if tile is False or tile is None:
        return ()
    if isinstance(tile, str):
        if tile.strip().lower() in ("", "none", "off", "false", "no"):
            return ()
        items: list[object] = [part for part in tile.split(",") if part.strip()]
    elif isinstance(tile, Sequence) and tile and all(isinstance(v, int) for v in tile):
        items = [tile]
    elif isinstance(tile, Sequence):
        items = list(tile)
    else:
        items = [tile]
    grids = [_parse_grid(item, tile) for item in items]
    return tuple(dict.fromkeys(g for g in grids if g is not None))


class SsdDetector:
    """SSD-MobileNetV2-OIDv4 (TFLite) → person / cat / dog (or any of its 23 classes) boxes in frame pixels.

    Args:
        model_path: the ``.tflite`` file; default: model ``model_name`` in ``models_dir``.
        models_dir: the models directory (default: ``Settings.models_path``).
        model_name: the model's folder name in ``models_dir``.
        labels_path: labelmap (one class per line, line i = score column i); default: the model's labels file,
            else a ``*labelmap*.txt`` beside the model, else the built-in OIDv4 labelmap.
        classes: OpenImages class names to report (case-insensitive; ``None`` = all). Labels are lower case with
            underscores: ``Person`` → ``person``.
        score_threshold: minimum sigmoid score, one number or ``{class: threshold}`` (classes not named get the
            default); default 0.45 on the whole frame, 0.50 with one tile grid, 0.55 with several (tiles add
            confident partial boxes).
        iou_threshold: NMS overlap above which the lower-scoring box of the same class is dropped.
        max_detections: most boxes per frame.
        tile: also run on grids of overlapping tiles: ``True`` = 2×2, ``(rows, cols)``, several grids
            ``[(2, 2), (2, 3)]`` or text ``"2x2,2x3"`` (multi-scale: more recall, one model run per tile).
        tile_overlap: overlap between neighbouring tiles, fraction of a tile.
        tile_full_frame: with tiles, also run on the whole frame (finds objects larger than a tile).
        box_voting: after NMS, replace each box by the score-weighted mean of the candidates overlapping it by at
            least this IoU (better localisation; ``None`` = plain NMS boxes). 0.65 was chosen on PETS09 frames
            1–200 (docs/tracking.md).
        num_threads: CPU threads of the TFLite interpreter.

    Not thread-safe (one interpreter): use one detector per thread or process.
    """

    IMPLIED_DEFAULTS: Mapping[str, Any] = {
        "score_threshold": {
            "whole frame": DEFAULT_SCORE_THRESHOLD,
            "one tile grid": DEFAULT_TILED_SCORE_THRESHOLD,
            "several tile grids": DEFAULT_MULTI_TILED_SCORE_THRESHOLD,
        }
    }
    """What ``score_threshold=None`` means (recorded in settings hashes by ``Registry.defaults``)."""

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        models_dir: str | os.PathLike[str] | None = None,
        model_name: str = MODEL_NAME,
        labels_path: str | os.PathLike[str] | None = None,
        classes: Sequence[str] | None = DEFAULT_CLASSES,
        score_threshold: float | Mapping[str, float] | None = None,
        iou_threshold: float = 0.5,
        max_detections: int = 100,
        tile: TileSpec = False,
        tile_overlap: float = 0.2,
        tile_full_frame: bool = True,
        box_voting: float | None = DEFAULT_BOX_VOTING,
        num_threads: int = 2,
    ) -> None:
        self.iou_threshold, self.max_detections = nms_options(iou_threshold, max_detections)
        if num_threads < 1:
            raise ConfigError(f"must be >= 1, got {num_threads}", where="num_threads")
        self.tile_grids = parse_tile_grids(tile)
        self.tile = self.tile_grids[0] if self.tile_grids else None
        self.tile_overlap = float(tile_overlap)
        self.tile_full_frame = bool(tile_full_frame)
        if box_voting is not None and not 0.0 < box_voting <= 1.0:
            raise ConfigError(f"must be in (0, 1] or null, got {box_voting}", where="box_voting")
        self.box_voting = None if box_voting is None else float(box_voting)
        for grid in self.tile_grids:
            tile_grid(16, 16, *grid, overlap=self.tile_overlap)  # validates the overlap

        self.model_path, store_labels = self._locate(model_path, models_dir, model_name)
        labelmap = self._read_labelmap(labels_path, store_labels)
        self._interpreter, self._input_index, self._input_hw, boxes_out, scores_out = self._load(num_threads)
        self._boxes_index, num_anchors = boxes_out
        self._scores_index, num_columns = scores_out
        if len(labelmap) != num_columns:
            raise ConfigError(
                f"labelmap has {len(labelmap)} classes but the model scores {num_columns}", where=self.model_path
            )
        self.anchor_options = SsdAnchorOptions(input_width=self._input_hw[1], input_height=self._input_hw[0])
        self.anchors = ssd_anchors(self.anchor_options)
        if len(self.anchors) != num_anchors:
            raise ConfigError(
                f"anchor settings give {len(self.anchors)} anchors but the model outputs {num_anchors} boxes",
                where=self.model_path,
            )
        self._columns, self.labels = self._select_classes(labelmap, classes)
        self._thresholds = self._thresholds_for(score_threshold)

    # -- set-up --------------------------------------------------------------------------------------------
    @staticmethod
    def _locate(
        model_path: str | os.PathLike[str] | None, models_dir: str | os.PathLike[str] | None, model_name: str
    ) -> tuple[Path, Path | None]:
        return locate_model(model_path, models_dir, model_name, what="SSD", hint=_INSTALL_HINT)

    def _read_labelmap(self, labels_path: str | os.PathLike[str] | None, store_labels: Path | None) -> tuple[str, ...]:
        path = Path(labels_path).expanduser() if labels_path is not None else store_labels
        if path is None:
            path = _labels_beside(self.model_path)
        if path is None:
            return OIDV4_LABELMAP
        return tuple(read_labels(path))

    def _load(self, num_threads: int) -> tuple[Any, int, tuple[int, int], tuple[int, int], tuple[int, int]]:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise BackendUnavailableError(
                "the SSD detector needs ai-edge-litert",
                where="detector.ssd-oidv4",
                hint="pip install 'sightings[vision]'",
            ) from exc
        try:
            interpreter = Interpreter(model_path=str(self.model_path), num_threads=num_threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise InputError(f"not a loadable TFLite model: {exc}", where=self.model_path) from exc
        (inp,) = interpreter.get_input_details()
        shape = tuple(int(v) for v in inp["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or inp["dtype"] != np.float32:
            raise ConfigError(
                f"expected a float32 input of shape (1, height, width, 3), got {shape} {np.dtype(inp['dtype'])}",
                where=self.model_path,
            )
        outputs = [(tuple(int(v) for v in o["shape"]), int(o["index"])) for o in interpreter.get_output_details()]
        boxes = [(i, s[1]) for s, i in outputs if len(s) == 3 and s[0] == 1 and s[2] == 4]
        scores = [(i, s[2], s[1]) for s, i in outputs if len(s) == 3 and s[0] == 1 and s[2] != 4]
        if len(outputs) != 2 or len(boxes) != 1 or len(scores) != 1 or boxes[0][1] != scores[0][2]:
            raise ConfigError(
                f"expected raw SSD outputs (1, N, 4) and (1, N, classes), got {[s for s, _ in outputs]}",
                where=self.model_path,
            )
        return interpreter, int(inp["index"]), (shape[1], shape[2]), boxes[0], scores[0][:2]

    @staticmethod
    def _select_classes(
        labelmap: Sequence[str], classes: Sequence[str] | None
    ) -> tuple[npt.NDArray[np.intp], tuple[str, ...]]:
        by_label = {oidv4_label(n): i for i, n in enumerate(labelmap) if n and n != _BACKGROUND}
        if classes is None:
            wanted = list(by_label)
        else:
            if isinstance(classes, str):
                classes = [classes]
            wanted = [oidv4_label(c) for c in classes]
            unknown = [c for c, w in zip(classes, wanted, strict=True) if w not in by_label]
            if unknown:
                known = ", ".join(n for n in labelmap if n != _BACKGROUND)
                raise ConfigError(f"unknown classes {unknown}; known: {known}", where="classes")
            wanted = list(dict.fromkeys(wanted))
        if not wanted:
            raise ConfigError("no classes selected", where="classes")
        return np.asarray([by_label[w] for w in wanted], dtype=np.intp), tuple(wanted)

    def _thresholds_for(self, score_threshold: float | Mapping[str, float] | None) -> npt.NDArray[np.float32]:
        default = (
            DEFAULT_SCORE_THRESHOLD,
            DEFAULT_TILED_SCORE_THRESHOLD,
            DEFAULT_MULTI_TILED_SCORE_THRESHOLD,
        )[min(2, len(self.tile_grids))]
        return class_thresholds(score_threshold, self.labels, default, normalise=oidv4_label)

    # -- running -------------------------------------------------------------------------------------------
    def _run(self, image: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Raw model outputs for one RGB image: box regressions (N, 4) and logits (N, classes)."""
        height, width = self._input_hw
        x = resize_rgb(image, width, height).astype(np.float32)
        x *= 2.0 / 255.0
        x -= 1.0
        try:
            self._interpreter.set_tensor(self._input_index, x[None])
            self._interpreter.invoke()
            raw_boxes = self._interpreter.get_tensor(self._boxes_index)[0]
            logits = self._interpreter.get_tensor(self._scores_index)[0]
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"TFLite inference failed: {exc}", where=self.model_path) from exc
        return raw_boxes, logits

    def decode(
        self,
        raw_boxes: npt.ArrayLike,
        logits: npt.ArrayLike,
        width: float,
        height: float,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.intp]]:
        """Raw outputs of one image → candidate boxes (``xyxy`` in pixels of a ``width`` × ``height`` image),
        scores and indices into :attr:`labels`, thresholded but not yet suppressed."""
        return decode_ssd_outputs(
            raw_boxes, logits, self.anchors, self._columns, self._thresholds, width=width, height=height
        )

    def _candidates(
        self, image: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.intp]]:
        height, width = int(image.shape[0]), int(image.shape[1])
        regions: list[tuple[int, int, int, int]] = []
        if not self.tile_grids or self.tile_full_frame:
            regions.append((0, 0, width, height))
        for grid in self.tile_grids:
            regions += tile_grid(width, height, *grid, overlap=self.tile_overlap)
        all_boxes, all_scores, all_classes = [], [], []
        for x1, y1, x2, y2 in regions:
            raw_boxes, logits = self._run(image[y1:y2, x1:x2])
            boxes, scores, classes = self.decode(raw_boxes, logits, x2 - x1, y2 - y1)
            boxes += np.asarray([x1, y1, x1, y1], dtype=np.float32)
            if (x1, y1, x2, y2) != (0, 0, width, height):
                keep = ~touches_inner_edge(boxes, (x1, y1, x2, y2), width, height)
                boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
            all_boxes.append(boxes)
            all_scores.append(scores)
            all_classes.append(classes)
        return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_classes)

    def detect_image(self, image: npt.NDArray[np.uint8], *, frame: int = 0) -> list[Detection]:
        """Detections in one RGB ``uint8`` image (H, W, 3); ``frame`` is the index written on each detection."""
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            raise InputError(f"expected a uint8 RGB array (height, width, 3), got {getattr(image, 'shape', None)}")
        height, width = int(image.shape[0]), int(image.shape[1])
        boxes, scores, classes = self._candidates(image)
        clip_boxes(boxes, width, height)
        sizeable = ((boxes[:, 2] - boxes[:, 0]) >= 1) & ((boxes[:, 3] - boxes[:, 1]) >= 1)
        boxes, scores, classes = boxes[sizeable], scores[sizeable], classes[sizeable]
        keep = batched_nms(boxes, scores, classes, self.iou_threshold, max_detections=self.max_detections)
        kept_boxes = (
            boxes[keep] if self.box_voting is None else vote_boxes(boxes, scores, classes, keep, self.box_voting)
        )
        return [
            Detection(
                frame,
                Box(*(float(v) for v in box)),
                self.labels[int(classes[i])],
                min(1.0, max(0.0, float(scores[i]))),
            )
            for i, box in zip(keep, kept_boxes, strict=True)
        ]

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        """Detections for each frame, in order (the model runs one image at a time)."""
        return [self.detect_image(f.image, frame=f.index) for f in frames]

    def __repr__(self) -> str:
        return f"SsdDetector({str(self.model_path)!r}, labels={list(self.labels)}, tile={list(self.tile_grids)})"


def decode_ssd_outputs(
    raw_boxes: npt.ArrayLike,
    logits: npt.ArrayLike,
    anchors: npt.NDArray[np.float32],
    columns: npt.ArrayLike,
    thresholds: npt.ArrayLike,
    *,
    width: float,
    height: float,
    scales: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0),
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.intp]]:
    """Raw SSD outputs of one image → (boxes ``xyxy`` in pixels, scores, class indices into ``columns``).

    ``columns`` picks score columns of ``logits`` (N, C); ``thresholds`` gives each picked column's minimum
    sigmoid score. One anchor may yield several classes. Boxes are scaled to ``width`` × ``height``, not clipped.
    """
    cols = np.asarray(columns, dtype=np.intp)
    scores = sigmoid(np.asarray(logits, dtype=np.float32)[:, cols])
    anchor_idx, class_idx = np.nonzero(scores >= np.asarray(thresholds, dtype=np.float32)[None, :])
    if anchor_idx.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.intp)
    raw = np.asarray(raw_boxes, dtype=np.float32)
    decoded = decode_ssd_boxes(raw[anchor_idx], anchors[anchor_idx], scales=scales)
    decoded *= np.asarray([width, height, width, height], dtype=np.float32)
    return decoded, scores[anchor_idx, class_idx].astype(np.float32), class_idx.astype(np.intp)
