"""CenterNet-MobileNetV3 trained on COCO (ONNX, converted at install from npm ``@vladmandic/human``).

The model (``centernet-mbv3-coco`` in the models directory; ``sightings models install centernet-mbv3-coco``)
takes an RGB image with values in [0, 255], NHWC, of any size that is a multiple of 32, and gives two maps at
a quarter of the input size: a per-class centre heat-map (sigmoid) and, per cell, the distances from the cell to
the box's left, top, right and bottom edges in input pixels. Decoding (the CenterNet way, no anchors):

1. a cell is a detection of class c when its score is the maximum of its 3×3 neighbourhood and ≥ the threshold;
2. its box is ``(4x − l, 4y − t, 4x + r, 4y + b)`` in input pixels, scaled back to the frame;
3. per-class NMS removes the rare duplicates that the 3×3 peak rule leaves.

The frame is stretched to ``input_size`` on its long side and the short side in proportion, both rounded to a
multiple of 32 (a 768×576 frame → 512×384, 1280×720 → 512×288). The convolutions are fully convolutional, so the
model runs at that size without padding. Far more of the small, far people of a surveillance view are found than
by the 300×300 SSD (docs/detectors.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendError, ConfigError, InputError, NotFoundError
from sightings.core.types import Box, Detection, Frame
from sightings.vision.detect.model_files import class_thresholds, locate_model, read_labels
from sightings.vision.detect.postprocess import batched_nms, clip_boxes, nms_options

__all__ = [
    "DEFAULT_CLASSES",
    "DEFAULT_INPUT_SIZE",
    "DEFAULT_SCORE_THRESHOLD",
    "MODEL_NAME",
    "CenterNetDetector",
    "decode_centernet",
    "input_shape_for",
]

MODEL_NAME = "centernet-mbv3-coco"
"""Name of the model folder in the models directory (``sightings models install`` puts it there)."""

DEFAULT_CLASSES: tuple[str, ...] = ("person", "cat", "dog")
DEFAULT_INPUT_SIZE = 384
"""Long side of the model input, pixels. Chosen on PETS09 frames 1-200 (docs/detectors.md): the smallest of 384,
448, 512, 640 and 768 within 0.01 of the best person AP50 (384 was the best, 0.845; trained at 512×512)."""
DEFAULT_SCORE_THRESHOLD = 0.3
"""The person F1-best heat-map score at 384 px on PETS09 frames 1-200 (docs/detectors.md). Tracking with it (BoT-SORT's
own 0.45 starts tracks; boxes from 0.3 to 0.45 only extend them) ties with filtering at 0.45 on frames 1-200
(docs/tracking.md)."""
STRIDE = 4
_CV_MAX_CHANNELS = 512
_INSTALL_HINT = f"run `sightings models install {MODEL_NAME}`"


def input_shape_for(height: int, width: int, size: int) -> tuple[int, int]:
    """The model input (height, width) for a frame: long side ``size``, both sides multiples of 32 (≥ 32)."""
    scale = size / max(height, width)
    return max(32, round(height * scale / 32) * 32), max(32, round(width * scale / 32) * 32)


def decode_centernet(
    heatmap: npt.ArrayLike,
    edges: npt.ArrayLike,
    columns: npt.ArrayLike,
    thresholds: npt.ArrayLike,
    *,
    scale: tuple[float, float] = (1.0, 1.0),
    stride: int = STRIDE,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.intp]]:
    """One image's maps → (boxes ``xyxy``, scores, indices into ``columns``), before NMS.

    ``heatmap`` is (h, w, classes), ``edges`` (h, w, 4) = left, top, right, bottom distances in input pixels;
    ``columns`` picks the classes and ``thresholds`` gives each one's minimum score; ``scale`` = (sx, sy) maps
    input pixels to frame pixels.
    """
    cols = np.asarray(columns, dtype=np.intp)
    heat = np.ascontiguousarray(np.asarray(heatmap, dtype=np.float32)[:, :, cols])
    dist = np.asarray(edges, dtype=np.float32)
    if heat.ndim != 3 or dist.shape != (*heat.shape[:2], 4):
        raise InputError(f"expected maps (h, w, classes) and (h, w, 4), got {heat.shape} and {dist.shape}")
    if not 1 <= heat.shape[2] <= _CV_MAX_CHANNELS:
        raise InputError(f"1 to {_CV_MAX_CHANNELS} classes can be decoded at once, got {heat.shape[2]}")
    peaks = cv2.dilate(heat, np.ones((3, 3), np.uint8)).reshape(heat.shape)  # 3×3 maximum of each class
    ys, xs, cs = np.nonzero((heat >= peaks) & (heat >= np.asarray(thresholds, dtype=np.float32)[None, None, :]))
    if ys.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.intp)
    left, top, right, bottom = dist[ys, xs].T
    cx, cy = xs.astype(np.float32) * stride, ys.astype(np.float32) * stride
    boxes = np.stack([cx - left, cy - top, cx + right, cy + bottom], axis=1)
    boxes *= np.asarray([scale[0], scale[1], scale[0], scale[1]], dtype=np.float32)
    return boxes.astype(np.float32), heat[ys, xs, cs].astype(np.float32), cs.astype(np.intp)


class CenterNetDetector:
    """CenterNet-MobileNetV3 (COCO, ONNX) → person / cat / dog (or any of its 80 classes) boxes in frame pixels.

    Args:
        model_path: the ``.onnx`` file; default: model ``model_name`` in ``models_dir``.
        models_dir: the models directory (default: ``Settings.models_path``).
        model_name: the model's folder name in ``models_dir``.
        labels_path: class names, one per line (default: the model's labels file).
        classes: COCO class names to report (``None`` = all).
        score_threshold: minimum heat-map score, one number or ``{class: threshold}``.
        iou_threshold: NMS overlap above which the lower-scoring box of the same class is dropped.
        max_detections: most boxes per frame.
        input_size: long side of the model input, pixels (rounded to a multiple of 32).
        providers: onnxruntime execution providers; default CUDA then CPU where CUDA is available, else CPU.
        num_threads: CPU threads per inference (``None``: onnxruntime's default).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        models_dir: str | os.PathLike[str] | None = None,
        model_name: str = MODEL_NAME,
        labels_path: str | os.PathLike[str] | None = None,
        classes: Sequence[str] | None = DEFAULT_CLASSES,
        score_threshold: float | Mapping[str, float] | None = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = 0.5,
        max_detections: int = 100,
        input_size: int = DEFAULT_INPUT_SIZE,
        providers: Sequence[str] | None = None,
        num_threads: int | None = None,
    ) -> None:
        self.iou_threshold, self.max_detections = nms_options(iou_threshold, max_detections)
        if input_size < 32:
            raise ConfigError(f"must be >= 32, got {input_size}", where="input_size")
        self.input_size = int(input_size)
        self.model_path, store_labels = locate_model(
            model_path, models_dir, model_name, what="CenterNet", hint=_INSTALL_HINT
        )
        names = self._class_names(labels_path, store_labels)
        from sightings.models.onnx_session import open_onnx_session

        self._session = open_onnx_session(
            self.model_path, providers=providers, num_threads=num_threads, where="detector.centernet", extra="vision"
        )
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 2 or len(inputs[0].shape) != 4:
            raise InputError(
                "expected one NHWC image input and two outputs (heat-map, edges), got "
                f"{[i.shape for i in inputs]} → {[o.shape for o in outputs]}",
                where=self.model_path,
            )
        self._input_name: str = inputs[0].name
        names_out = [o.name for o in outputs]
        # the converter names them keypoints (heat-map) and wh (edges); another export: heat-map first
        self._outputs = ["keypoints", "wh"] if sorted(names_out) == ["keypoints", "wh"] else names_out
        self._probe(len(names))
        self.class_names: tuple[str, ...] = tuple(names)
        self._columns, self.labels = self._select(classes)
        self._thresholds = self._thresholds_for(score_threshold)

    # -- set-up --------------------------------------------------------------------------------------------
    def _class_names(self, labels_path: str | os.PathLike[str] | None, store_labels: Path | None) -> list[str]:
        if labels_path is not None:
            return read_labels(Path(labels_path).expanduser())
        for path in (store_labels, self.model_path.parent / "labels.txt"):
            if path is not None and path.is_file():
                return read_labels(path)
        raise NotFoundError("no labels file beside the model", where=self.model_path, hint="give labels_path")

    def _probe(self, num_classes: int) -> None:
        heat, edges = self._infer(np.zeros((1, 64, 64, 3), np.float32))
        if heat.shape[-1] != num_classes or edges.shape[-1] != 4 or heat.shape[1:3] != (64 // STRIDE, 64 // STRIDE):
            raise ConfigError(
                f"{num_classes} class names, but the model maps a 64×64 input to {heat.shape} and {edges.shape} "
                f"(expected (1, 16, 16, {num_classes}) and (1, 16, 16, 4))",
                where=self.model_path,
            )

    def _select(self, classes: Sequence[str] | None) -> tuple[npt.NDArray[np.intp], tuple[str, ...]]:
        index = {n.lower(): i for i, n in reversed(list(enumerate(self.class_names)))}
        wanted = list(self.class_names) if classes is None else [classes] if isinstance(classes, str) else classes
        unknown = [c for c in wanted if c.lower() not in index]
        if unknown:
            raise ConfigError(f"unknown classes {unknown}; known: {', '.join(self.class_names)}", where="classes")
        ids = list(dict.fromkeys(index[c.lower()] for c in wanted))
        if not ids:
            raise ConfigError("no classes selected", where="classes")
        return np.asarray(ids, dtype=np.intp), tuple(self.class_names[i] for i in ids)

    def _thresholds_for(self, score_threshold: float | Mapping[str, float] | None) -> npt.NDArray[np.float32]:
        return class_thresholds(score_threshold, self.labels, DEFAULT_SCORE_THRESHOLD)

    # -- running -------------------------------------------------------------------------------------------
    def _infer(self, batch: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        try:
            heat, edges = self._session.run(self._outputs, {self._input_name: batch})
        except Exception as exc:  # onnxruntime's own exception types
            raise BackendError(f"ONNX inference failed: {str(exc).strip()[:300]}", where=self.model_path) from exc
        return np.asarray(heat, dtype=np.float32), np.asarray(edges, dtype=np.float32)

    def detect_image(self, image: npt.NDArray[np.uint8], *, frame: int = 0) -> list[Detection]:
        """Detections in one RGB ``uint8`` image (H, W, 3); ``frame`` is the index written on each detection."""
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            raise InputError(f"expected a uint8 RGB array (height, width, 3), got {getattr(image, 'shape', None)}")
        height, width = int(image.shape[0]), int(image.shape[1])
        in_h, in_w = input_shape_for(height, width, self.input_size)
        x = cv2.resize(image, (in_w, in_h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        heat, edges = self._infer(x[None])
        boxes, scores, classes = decode_centernet(
            heat[0], edges[0], self._columns, self._thresholds, scale=(width / in_w, height / in_h)
        )
        clip_boxes(boxes, width, height)
        sizeable = ((boxes[:, 2] - boxes[:, 0]) >= 1) & ((boxes[:, 3] - boxes[:, 1]) >= 1)
        boxes, scores, classes = boxes[sizeable], scores[sizeable], classes[sizeable]
        keep = batched_nms(boxes, scores, classes, self.iou_threshold, max_detections=self.max_detections)
        return [
            Detection(frame, Box(*(float(v) for v in boxes[i])), self.labels[int(classes[i])], float(scores[i]))
            for i in keep
        ]

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        """Detections for each frame, in order (one inference per frame: frame sizes may differ)."""
        return [self.detect_image(f.image, frame=f.index) for f in frames]

    def __repr__(self) -> str:
        return f"CenterNetDetector({str(self.model_path)!r}, labels={list(self.labels)}, input_size={self.input_size})"
