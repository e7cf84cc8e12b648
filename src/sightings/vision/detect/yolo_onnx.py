"""YOLO detectors exported to ONNX the Ultralytics way, run by ``onnxruntime`` (CPU, or CUDA where available).

Input: one NCHW float tensor, RGB scaled to [0, 1], letterboxed into the model size (aspect kept, padded with
grey 114, centred). Output 0 is one of:

- ``v8`` (YOLOv8/v9/v11): (B, 4 + nc, N) — ``cx, cy, w, h`` in input pixels, then nc class scores (already
  sigmoid); also accepted transposed, (B, N, 4 + nc);
- ``v5`` (YOLOv5/v7): (B, N, 5 + nc) — ``cx, cy, w, h``, objectness, nc class probabilities (score = obj × cls);
- ``end2end`` (YOLOv10/YOLO26, or any export with ``nms=True``): (B, N, 6) — ``x1, y1, x2, y2, score, class``.

``layout="auto"`` tells them apart by shape (and by the class count when the names are known). Each box keeps
its best class; boxes are mapped back through the letterbox into frame pixels, then per-class NMS.

Class names come from ``labels_path``, else the ONNX metadata ``names`` (a Python dict literal, as Ultralytics
writes it), else the model's labels file in the models directory or a ``labels.txt`` / ``<stem>.txt`` beside the
model, else ``class_<i>``.
"""

from __future__ import annotations

import ast
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendError, ConfigError, InputError, NotFoundError
from sightings.core.types import Box, Detection, Frame
from sightings.vision.detect.model_files import default_models_dir, read_labels
from sightings.vision.detect.postprocess import Letterbox, batched_nms, letterbox

__all__ = ["YoloLayout", "YoloOnnxDetector", "parse_names"]

log = logging.getLogger(__name__)

YoloLayout = Literal["auto", "v8", "v5", "end2end"]
_LAYOUTS = ("auto", "v8", "v5", "end2end")
_DEFAULT_SIZE = 640
_VISION_HINT = "pip install 'sightings[vision]'"
_IMPORT_HINT = "run `sightings models import MODEL.onnx --task detect` (e.g. an Ultralytics YOLO export)"


def parse_names(text: str) -> list[str]:
    """Class names from Ultralytics' ``names`` metadata: ``"{0: 'person', 1: 'bicycle'}"`` or a list literal."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise InputError(f"cannot parse class names {text[:60]!r}: {exc}", where="names") from None
    if isinstance(value, dict):
        try:
            keys = sorted(int(k) for k in value)
        except (TypeError, ValueError):
            raise InputError("class name keys must be integers", where="names") from None
        if keys != list(range(len(keys))):
            raise InputError("class ids must run 0..n-1 without gaps", where="names")
        by_id = {int(k): v for k, v in value.items()}
        return [str(by_id[k]) for k in keys]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    raise InputError(f"class names must be a dict or a list, got {type(value).__name__}", where="names")


def _model_from_store(models_dir: Path, name: str | None) -> tuple[Path, Path | None]:
    from sightings.models.store import ModelStore
    from sightings.vision.detect.centernet import MODEL_NAME as CENTERNET

    store = ModelStore(models_dir)
    if name is None:  # CenterNet's model (a default install) is an ONNX detector too, but no YOLO: not a candidate
        onnx_detectors = [
            m.name for m in store.list() if m.format == "onnx" and m.task == "detect" and m.name != CENTERNET
        ]
        if not onnx_detectors:
            raise NotFoundError(
                "no YOLO ONNX detection model is installed"
                + (f" ({CENTERNET} is the centernet detector's: --detector centernet)" if CENTERNET in store else ""),
                where=models_dir,
                hint=_IMPORT_HINT,
            )
        if len(onnx_detectors) > 1:
            raise ConfigError(
                f"several ONNX detection models are installed ({', '.join(onnx_detectors)}); choose one with "
                "model_name",
                where="detector.options.model_name",
            )
        name = onnx_detectors[0]
    store.require_verified(name)
    return store.path(name), store.labels_path(name)


def _dim(value: Any) -> int | None:
    """A static tensor dimension, or ``None`` for a symbolic/unknown one."""
    return value if isinstance(value, int) and value > 0 else None


class YoloOnnxDetector:
    """An Ultralytics-style YOLO ONNX model → boxes in frame pixels, labelled with the model's class names.

    Args:
        model_path: the ``.onnx`` file; default: ``model_name`` (or the only ONNX detection model) in
            ``models_dir``.
        models_dir: the models directory (default: ``Settings.models_path``).
        model_name: the model's folder name in ``models_dir``.
        labels_path: class names, one per line (overrides the model's ``names`` metadata).
        input_size: model input, ``S`` or ``(height, width)``; default: the model's input shape (640 if dynamic).
        score_threshold: minimum score (class score, × objectness for v5).
        iou_threshold: NMS overlap above which the lower-scoring box of the same class is dropped.
        classes: class names to report (``None``: all).
        max_detections: most boxes per frame.
        layout: output layout, ``auto`` | ``v8`` | ``v5`` | ``end2end``.
        providers: onnxruntime execution providers; default CUDA then CPU where CUDA is available, else CPU.
        num_threads: CPU threads per inference (``None``: onnxruntime's default).
        batch_size: frames per inference when the model's batch dimension is dynamic.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        models_dir: str | os.PathLike[str] | None = None,
        model_name: str | None = None,
        labels_path: str | os.PathLike[str] | None = None,
        input_size: int | Sequence[int] | None = None,
        score_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        classes: Sequence[str] | None = None,
        max_detections: int = 300,
        layout: YoloLayout = "auto",
        providers: Sequence[str] | None = None,
        num_threads: int | None = None,
        batch_size: int = 8,
    ) -> None:
        for name, value in (("score_threshold", score_threshold), ("iou_threshold", iou_threshold)):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"must be in [0, 1], got {value}", where=name)
        if max_detections < 1 or batch_size < 1:
            raise ConfigError("max_detections and batch_size must be >= 1", where="detector.options")
        if layout not in _LAYOUTS:
            raise ConfigError(f"unknown layout {layout!r} (one of {', '.join(_LAYOUTS)})", where="layout")
        self.score_threshold = float(score_threshold)
        self.iou_threshold = float(iou_threshold)
        self.max_detections = int(max_detections)
        self.batch_size = int(batch_size)

        if model_path is not None:
            self.model_path = Path(model_path).expanduser()
            store_labels: Path | None = None
            if not self.model_path.is_file():
                raise NotFoundError("ONNX model file not found", where=self.model_path, hint=_IMPORT_HINT)
        else:
            root = Path(models_dir).expanduser() if models_dir is not None else default_models_dir()
            self.model_path, store_labels = _model_from_store(root, model_name)

        self._session = self._open(providers, num_threads)
        self.providers: list[str] = list(self._session.get_providers())
        inp = self._session.get_inputs()[0]
        self._input_name: str = inp.name
        self._input_dtype: type[np.floating[Any]] = np.float16 if inp.type == "tensor(float16)" else np.float32
        if inp.type not in ("tensor(float)", "tensor(float16)"):
            raise InputError(f"expected a float input tensor, got {inp.type}", where=self.model_path)
        self.input_hw = self._input_size(list(inp.shape), input_size)
        self._fixed_batch = _dim(inp.shape[0])

        names = self._names(labels_path, store_labels)
        self.layout, num_classes = self._resolve_layout(layout, names)
        if names is None:
            if self.layout == "end2end":
                raise ConfigError(
                    "an end2end model's class count is unknown: give labels_path (its metadata has no names)",
                    where=self.model_path,
                )
            names = [f"class_{i}" for i in range(num_classes)]
        elif num_classes and len(names) != num_classes:
            raise ConfigError(
                f"{len(names)} class names but the model scores {num_classes} classes", where=self.model_path
            )
        self.class_names: tuple[str, ...] = tuple(names)
        self._select(classes)

    # -- set-up --------------------------------------------------------------------------------------------
    def _open(self, providers: Sequence[str] | None, num_threads: int | None) -> Any:
        from sightings.models.onnx_session import open_onnx_session

        return open_onnx_session(
            self.model_path, providers=providers, num_threads=num_threads, where="detector.yolo-onnx", extra="vision"
        )

    def _input_size(self, shape: list[Any], input_size: int | Sequence[int] | None) -> tuple[int, int]:
        expected = "(batch, 3, height, width)"
        if len(shape) != 4:
            raise InputError(f"expected input shape {expected}, got {tuple(shape)}", where=self.model_path)
        channels = _dim(shape[1])
        if channels is not None and channels != 3:
            raise InputError(
                f"expected input shape {expected} with 3 channels, got {tuple(shape)}", where=self.model_path
            )
        model_hw = (_dim(shape[2]), _dim(shape[3]))
        if input_size is None:
            wanted: tuple[int, int] = (model_hw[0] or _DEFAULT_SIZE, model_hw[1] or _DEFAULT_SIZE)
        elif isinstance(input_size, int):
            wanted = (input_size, input_size)
        else:
            sizes = tuple(int(v) for v in input_size)
            if len(sizes) != 2:
                raise ConfigError(f"input_size must be S or (height, width), got {input_size!r}", where="input_size")
            wanted = (sizes[0], sizes[1])
        if min(wanted) < 1:
            raise ConfigError(f"input_size must be > 0, got {wanted}", where="input_size")
        for got, fixed in zip(wanted, model_hw, strict=True):
            if fixed is not None and got != fixed:
                raise InputError(
                    f"input_size {wanted} does not fit the model's fixed input {tuple(shape)}", where=self.model_path
                )
        return wanted

    def _names(self, labels_path: str | os.PathLike[str] | None, store_labels: Path | None) -> list[str] | None:
        if labels_path is not None:
            return read_labels(Path(labels_path).expanduser())
        meta = self._session.get_modelmeta().custom_metadata_map
        if meta.get("names"):
            try:
                return parse_names(meta["names"])
            except InputError as err:
                log.warning("%s: ignoring the model's class names (%s)", self.model_path, err.reason)
        candidates = [store_labels] if store_labels is not None else []
        candidates += [self.model_path.parent / "labels.txt", self.model_path.with_suffix(".txt")]
        for path in candidates:
            if path.is_file():
                return read_labels(path)
        return None

    def _output_shape(self) -> tuple[int, int]:
        """The (rows, columns) of output 0 per image, from the model or, if symbolic, from one blank inference."""
        shape = list(self._session.get_outputs()[0].shape)
        if len(shape) != 3:
            raise InputError(f"expected a 3-D output (batch, a, b), got {tuple(shape)}", where=self.model_path)
        a, b = _dim(shape[1]), _dim(shape[2])
        if a is None or b is None:
            out = self._infer(np.zeros((self._fixed_batch or 1, 3, *self.input_hw), dtype=self._input_dtype))
            a, b = int(out.shape[1]), int(out.shape[2])
        return a, b

    def _resolve_layout(self, layout: YoloLayout, names: list[str] | None) -> tuple[str, int]:
        """The output layout (``v8``, ``v8t`` = transposed v8, ``v5``, ``end2end``) and the class count (0 if
        the layout does not tell it)."""
        a, b = self._output_shape()
        nc = len(names) if names is not None else None
        fits: dict[str, int] = {}
        if a > 4:
            fits["v8"] = a - 4
        if b > 4:
            fits["v8t"] = b - 4
        if b > 5:
            fits["v5"] = b - 5
        if b == 6:
            fits["end2end"] = 0
        if layout == "v8":
            order = ["v8", "v8t"] if a < b else ["v8t", "v8"]
        elif layout == "auto":
            by_shape = ["v8", "v5", "v8t"] if a < b else ["v5", "v8t", "v8"]
            if nc is not None and nc + 4 != 6 and nc + 5 != 6:
                by_shape.insert(0, "end2end")
            order = by_shape
        else:
            order = [layout]
        for name in order:
            if name in fits and (nc is None or name == "end2end" or fits[name] == nc):
                return name, fits[name]
        implied = {fits[n] for n in order if n in fits and n != "end2end"}
        if nc is not None and implied:
            raise ConfigError(
                f"{nc} class names but the model's output (batch, {a}, {b}) implies "
                f"{' or '.join(str(n) for n in sorted(implied))} classes (layout {layout!r})",
                where=self.model_path,
            )
        raise InputError(f"output shape (batch, {a}, {b}) does not fit layout {layout!r}", where=self.model_path)

    def _select(self, classes: Sequence[str] | None) -> None:
        if classes is None:
            wanted = list(range(len(self.class_names)))
        else:
            if isinstance(classes, str):
                classes = [classes]
            index = {n: i for i, n in enumerate(self.class_names)}
            folded = {n.lower(): i for i, n in reversed(list(enumerate(self.class_names)))}
            unknown = [c for c in classes if c not in index and c.lower() not in folded]
            if unknown:
                raise ConfigError(f"unknown classes {unknown}; known: {', '.join(self.class_names)}", where="classes")
            wanted = list(dict.fromkeys(index.get(c, folded.get(c.lower(), -1)) for c in classes))
        self._class_ids = np.asarray(wanted, dtype=np.intp)
        labels = [self.class_names[i] for i in wanted]
        self.labels: tuple[str, ...] = tuple(labels)
        # class id in the model → position in self.labels (or -1 when filtered out)
        self._label_of = np.full(max(len(self.class_names), 1), -1, dtype=np.intp)
        self._label_of[self._class_ids] = np.arange(len(wanted))

    # -- running -------------------------------------------------------------------------------------------
    def _infer(self, batch: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        try:
            out = self._session.run(None, {self._input_name: batch})[0]
        except Exception as exc:  # onnxruntime's own exception types
            raise BackendError(f"ONNX inference failed: {str(exc).strip()[:300]}", where=self.model_path) from exc
        arr = np.asarray(out, dtype=np.float32)
        if arr.ndim != 3:
            raise InputError(f"expected a 3-D output (batch, a, b), got {arr.shape}", where=self.model_path)
        return arr

    def _prepare(self, image: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[Any], Letterbox]:
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            raise InputError(f"expected a uint8 RGB array (height, width, 3), got {getattr(image, 'shape', None)}")
        canvas, lb = letterbox(image, self.input_hw[1], self.input_hw[0], pad_value=114)
        x = np.empty((3, *self.input_hw), dtype=np.float32)
        np.multiply(canvas.transpose(2, 0, 1), np.float32(1.0 / 255.0), out=x, casting="unsafe")
        if self._input_dtype is not np.float32:
            return x.astype(self._input_dtype), lb
        return x, lb

    def decode(
        self, output: npt.ArrayLike, lb: Letterbox
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.intp]]:
        """One image's raw output (a, b) → boxes (frame pixels), scores and indices into :attr:`labels`, after NMS."""
        out = np.asarray(output, dtype=np.float32)
        rows = out.T if self.layout == "v8" else out
        if self.layout == "end2end":
            boxes = rows[:, :4].copy()
            scores = rows[:, 4]
            class_id = rows[:, 5].round().astype(np.intp)
            valid = (class_id >= 0) & (class_id < len(self.class_names))
            labels = np.full(len(rows), -1, dtype=np.intp)
            labels[valid] = self._label_of[class_id[valid]]
        else:
            first = 5 if self.layout == "v5" else 4
            cls = rows[:, first:][:, self._class_ids]
            if self.layout == "v5":
                cls = cls * rows[:, 4:5]
            labels = np.argmax(cls, axis=1) if cls.shape[1] else np.zeros(len(rows), np.intp)
            scores = cls[np.arange(len(rows)), labels] if cls.shape[1] else np.zeros(len(rows), np.float32)
            cx, cy, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
            boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        keep = (scores >= self.score_threshold) & (labels >= 0)
        boxes = lb.to_source(boxes[keep])
        scores, labels = scores[keep], labels[keep]
        sizeable = ((boxes[:, 2] - boxes[:, 0]) >= 1) & ((boxes[:, 3] - boxes[:, 1]) >= 1)
        boxes, scores, labels = boxes[sizeable], scores[sizeable], labels[sizeable]
        kept = batched_nms(boxes, scores, labels, self.iou_threshold, max_detections=self.max_detections)
        return boxes[kept], scores[kept].astype(np.float32), labels[kept]

    def _detections(self, output: npt.NDArray[np.float32], lb: Letterbox, frame: int) -> list[Detection]:
        boxes, scores, labels = self.decode(output, lb)
        return [
            Detection(
                frame,
                Box(*(float(v) for v in boxes[i])),
                self.labels[int(labels[i])],
                min(1.0, max(0.0, float(scores[i]))),
            )
            for i in range(len(boxes))
        ]

    def detect_image(self, image: npt.NDArray[np.uint8], *, frame: int = 0) -> list[Detection]:
        """Detections in one RGB ``uint8`` image (H, W, 3); ``frame`` is the index written on each detection."""
        x, lb = self._prepare(image)
        return self._detections(self._infer(x[None])[0], lb, frame)

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        """Detections for each frame, in order; batched when the model's batch dimension is dynamic."""
        step = self._fixed_batch or self.batch_size
        if step == 1:
            return [self.detect_image(f.image, frame=f.index) for f in frames]
        results: list[list[Detection]] = []
        for start in range(0, len(frames), step):
            chunk = frames[start : start + step]
            prepared = [self._prepare(f.image) for f in chunk]
            batch = np.stack([x for x, _ in prepared])
            if self._fixed_batch is not None and len(chunk) < self._fixed_batch:
                pad = np.zeros((self._fixed_batch - len(chunk), *batch.shape[1:]), dtype=batch.dtype)
                batch = np.concatenate([batch, pad])
            out = self._infer(batch)
            results += [
                self._detections(out[i], lb, f.index)
                for i, (f, (_, lb)) in enumerate(zip(chunk, prepared, strict=True))
            ]
        return results

    def __repr__(self) -> str:
        return (
            f"YoloOnnxDetector({str(getattr(self, 'model_path', '?'))!r}, layout={getattr(self, 'layout', None)!r}, "
            f"input={getattr(self, 'input_hw', None)}, providers={getattr(self, 'providers', None)})"
        )
