"""Last-resort detectors built into OpenCV 4 (no model file): HOG people and Haar frontal cat faces.

Both are weak next to the SSD (HOG finds about half the people in PETS09 at 1.5× upscaling; the cat-face cascade
misses any cat not looking at the camera) and slow on large frames; use them only where nothing else runs.
``opencv-python(-headless)`` 5 ships neither ``HOGDescriptor`` nor ``CascadeClassifier``: pin ``<5``.

Scores: OpenCV gives no probabilities. HOG's SVM margin ``m`` and the cascade's final-stage weight ``w`` are mapped
to (0, 1) by the logistic function, so 0.5 means "on the decision boundary"; compare scores only within a detector.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendUnavailableError, ConfigError, InputError, NotFoundError
from sightings.core.types import Box, Detection, Frame
from sightings.vision.detect.postprocess import clip_boxes, nms, resize_rgb, sigmoid

__all__ = ["CAT_FACE_CASCADES", "HaarCatFaceDetector", "HogPeopleDetector", "find_cascade"]

_HINT = "pip install 'sightings[vision]' (opencv-python-headless>=4.8,<5)"
CAT_FACE_CASCADES = ("haarcascade_frontalcatface_extended.xml", "haarcascade_frontalcatface.xml")
_SYSTEM_CASCADE_DIRS = (
    "/usr/share/opencv4/haarcascades",
    "/usr/share/opencv/haarcascades",
    "/usr/local/share/opencv4/haarcascades",
)


def _cv2(feature: str) -> Any:
    """The ``cv2`` module, if it has ``feature``; else :class:`BackendUnavailableError` with an install hint."""
    try:
        import cv2
    except ImportError as exc:
        raise BackendUnavailableError(f"{feature} needs OpenCV", where="detector", hint=_HINT) from exc
    if not hasattr(cv2, feature):
        raise BackendUnavailableError(
            f"OpenCV {cv2.__version__} has no {feature} (removed in OpenCV 5)", where="detector", hint=_HINT
        )
    return cv2


def _check_image(image: npt.NDArray[np.uint8]) -> None:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
        raise InputError(f"expected a uint8 RGB array (height, width, 3), got {getattr(image, 'shape', None)}")


def find_cascade(names: Sequence[str] = CAT_FACE_CASCADES) -> Path | None:
    """The first of ``names`` found in ``cv2.data.haarcascades`` or the Debian ``opencv-data`` folders."""
    dirs: list[Path] = []
    try:
        import cv2

        data = getattr(cv2, "data", None)
        if data is not None and getattr(data, "haarcascades", None):
            dirs.append(Path(data.haarcascades))
    except ImportError:
        pass
    dirs += [Path(d) for d in _SYSTEM_CASCADE_DIRS]
    for name in names:
        for folder in dirs:
            if (folder / name).is_file():
                return folder / name
    return None


_HOG_WINDOW = (64, 128)  # width, height of the default people detector's window


class HogPeopleDetector:
    """Pedestrians with OpenCV's HOG + linear SVM people detector (64×128 window, upright people only).

    Args:
        score_threshold: minimum score (logistic of the SVM margin; 0.5 = margin 0).
        iou_threshold: NMS overlap for merging boxes.
        upscale: resize factor applied first (people smaller than ~64×128 pixels need > 1; costs time).
        win_stride: window step, pixels (larger is faster and misses more).
        scale: pyramid step between scales.
        max_detections: most boxes per frame.
        tighten: shrink each window by 15 % of its width and 5 % of its height on every side (OpenCV's
            ``peopledetect`` sample does the same: the 64×128 window holds a margin around the person).
    """

    labels: Sequence[str] = ("person",)

    def __init__(
        self,
        *,
        score_threshold: float = 0.5,
        iou_threshold: float = 0.5,
        upscale: float = 1.0,
        win_stride: int = 8,
        scale: float = 1.05,
        max_detections: int = 100,
        tighten: bool = True,
    ) -> None:
        if not 0.0 <= score_threshold < 1.0 or not 0.0 <= iou_threshold <= 1.0:
            raise ConfigError("score_threshold must be in [0, 1) and iou_threshold in [0, 1]", where="detector.options")
        if upscale <= 0 or win_stride < 1 or scale <= 1.0:
            raise ConfigError("needs upscale > 0, win_stride >= 1 and scale > 1", where="detector.options")
        cv2 = _cv2("HOGDescriptor")
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.score_threshold = float(score_threshold)
        self.iou_threshold = float(iou_threshold)
        self.upscale = float(upscale)
        self.win_stride = int(win_stride)
        self.scale = float(scale)
        self.max_detections = int(max_detections)
        self.tighten = bool(tighten)
        # margin threshold equivalent to the score threshold (logit), so OpenCV drops weak windows early
        p = min(max(self.score_threshold, 1e-6), 1 - 1e-6)
        self._hit_threshold = float(np.log(p / (1 - p)))

    def detect_image(self, image: npt.NDArray[np.uint8], *, frame: int = 0) -> list[Detection]:
        """People in one RGB ``uint8`` image (H, W, 3)."""
        _check_image(image)
        height, width = int(image.shape[0]), int(image.shape[1])
        work = image
        if self.upscale != 1.0:
            work = resize_rgb(image, max(1, round(width * self.upscale)), max(1, round(height * self.upscale)))
        if work.shape[0] < _HOG_WINDOW[1] or work.shape[1] < _HOG_WINDOW[0]:
            return []  # smaller than one detection window: OpenCV's HOG corrupts memory on such images
        rects, weights = self._hog.detectMultiScale(
            np.ascontiguousarray(work[..., ::-1]),
            hitThreshold=self._hit_threshold,
            winStride=(self.win_stride, self.win_stride),
            padding=(8, 8),
            scale=self.scale,
        )
        if len(rects) == 0:
            return []
        xywh = np.asarray(rects, dtype=np.float32).reshape(-1, 4) / self.upscale
        if self.tighten:
            margin = xywh[:, 2:] * np.asarray([0.15, 0.05], dtype=np.float32)
            xywh[:, :2] += margin
            xywh[:, 2:] -= 2 * margin
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        clip_boxes(boxes, width, height)
        scores = sigmoid(np.asarray(weights, dtype=np.float32).reshape(-1))
        ok = scores >= self.score_threshold
        boxes, scores = boxes[ok], scores[ok]
        keep = nms(boxes, scores, self.iou_threshold, max_detections=self.max_detections)
        return [Detection(frame, Box(*(float(v) for v in boxes[i])), "person", float(scores[i])) for i in keep]

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        """People in each frame, in order."""
        return [self.detect_image(f.image, frame=f.index) for f in frames]


class HaarCatFaceDetector:
    """Frontal cat faces with OpenCV's Haar cascade (``haarcascade_frontalcatface_extended.xml`` by default).

    Args:
        cascade_path: a cascade XML; default: the extended (else plain) frontal cat-face cascade from
            ``cv2.data.haarcascades`` or Debian's ``opencv-data``.
        score_threshold: minimum score (logistic of the cascade's final-stage weight).
        scale_factor: pyramid step between scales.
        min_neighbors: overlapping raw hits needed to keep a face (higher = fewer false faces).
        min_size: smallest face, pixels.
        iou_threshold: NMS overlap for merging boxes.
        max_detections: most boxes per frame.
    """

    labels: Sequence[str] = ("cat_face",)

    def __init__(
        self,
        *,
        cascade_path: str | os.PathLike[str] | None = None,
        score_threshold: float = 0.0,
        scale_factor: float = 1.1,
        min_neighbors: int = 3,
        min_size: int = 24,
        iou_threshold: float = 0.5,
        max_detections: int = 100,
    ) -> None:
        if scale_factor <= 1.0 or min_neighbors < 0 or min_size < 1:
            raise ConfigError("needs scale_factor > 1, min_neighbors >= 0 and min_size >= 1", where="detector.options")
        cv2 = _cv2("CascadeClassifier")
        if cascade_path is not None:
            path = Path(cascade_path).expanduser()
            if not path.is_file():
                raise NotFoundError("cascade file not found", where=path)
        else:
            found = find_cascade()
            if found is None:
                raise BackendUnavailableError(
                    f"no cat-face cascade ({' or '.join(CAT_FACE_CASCADES)}) in cv2.data or opencv-data",
                    where="detector.haar-catface",
                    hint=f"{_HINT}, or apt-get install opencv-data",
                )
            path = found
        self.cascade_path = path
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise InputError("not a loadable Haar cascade", where=path)
        self._cv2 = cv2
        self.score_threshold = float(score_threshold)
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size = int(min_size)
        self.iou_threshold = float(iou_threshold)
        self.max_detections = int(max_detections)

    def detect_image(self, image: npt.NDArray[np.uint8], *, frame: int = 0) -> list[Detection]:
        """Cat faces in one RGB ``uint8`` image (H, W, 3)."""
        _check_image(image)
        gray = self._cv2.equalizeHist(self._cv2.cvtColor(image, self._cv2.COLOR_RGB2GRAY))
        rects, _levels, weights = self._cascade.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        if len(rects) == 0:
            return []
        xywh = np.asarray(rects, dtype=np.float32).reshape(-1, 4)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        scores = sigmoid(np.asarray(weights, dtype=np.float32).reshape(-1))
        ok = scores >= self.score_threshold
        boxes, scores = boxes[ok], scores[ok]
        keep = nms(boxes, scores, self.iou_threshold, max_detections=self.max_detections)
        return [Detection(frame, Box(*(float(v) for v in boxes[i])), "cat_face", float(scores[i])) for i in keep]

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        """Cat faces in each frame, in order."""
        return [self.detect_image(f.image, frame=f.index) for f in frames]
