"""COCO-style detection AP on MOT files, through pycocotools (the ``eval`` extra, imported on first use).

Each frame is one image (``image_id`` = frame number), each row one box (``bbox`` = left, top, width, height;
the ``score`` column ranks predictions; ``id`` is ignored). Matching and averaging are pycocotools' own:
greedy by score, each ground-truth box matched at most once, IoU thresholds 0.50:0.05:0.95, precision
interpolated at 101 recall points, AP averaged over classes. Ours on top:

* Ground-truth rows with ``conf`` exactly 0 (MOT "do not consider") become COCO *crowd* regions: a prediction
  on one is ignored, neither a true nor a false positive (``zero_marked_as_crowd=False`` drops them instead).
* Classes: per class when every row of both files has a class id (``class_id >= 0``; MOT16+ ground truth
  and a class-aware detector), otherwise one class holding every box.
* No cap on predictions per frame (COCO keeps the top 100 per image; a crowded frame can hold more people).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendUnavailableError, InputError
from sightings.evaluate.mot_io import MotData

__all__ = ["ClassAP", "DetectionReport", "evaluate_detection"]

_INSTALL_HINT = "pip install 'sightings[eval]'"
_SINGLE_CLASS = 1


@dataclass(frozen=True, slots=True)
class ClassAP:
    """AP of one class (``class_id`` is the MOT class, or 1 when classes are not used)."""

    class_id: int
    ap50: float
    ap75: float
    map50_95: float
    num_gt: int
    num_pred: int


@dataclass(frozen=True, slots=True)
class DetectionReport:
    """COCO-style detection metrics; ``map50_95`` is COCO's "AP", ``ap50`` its "AP50"."""

    ap50: float
    ap75: float
    map50_95: float
    ar: float  # recall averaged over IoU 0.50:0.95, all predictions per frame (COCO "AR@maxDets")
    per_class: tuple[ClassAP, ...]
    class_aware: bool
    num_frames: int
    num_gt: int
    num_gt_ignored: int
    num_pred: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def _load_pycocotools() -> tuple[Any, Any]:
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as err:
        raise BackendUnavailableError(
            f"detection AP needs pycocotools ({err})", where="pycocotools", hint=_INSTALL_HINT
        ) from None
    return COCO, COCOeval


def _has_classes(data: MotData) -> bool:
    return len(data) > 0 and bool((data.class_id >= 0).all())


def _mean_valid(values: npt.NDArray[np.float64]) -> float:
    """Mean of the entries pycocotools filled in (it leaves -1 where a class has no ground truth)."""
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else 0.0


def _annotations(
    data: MotData, categories: npt.NDArray[np.int64], crowd: npt.NDArray[np.bool_]
) -> list[dict[str, Any]]:
    boxes = data.xywh
    return [
        {
            "id": i + 1,  # pycocotools treats id 0 as "unmatched"
            "image_id": int(data.frame[i]),
            "category_id": int(categories[i]),
            "bbox": [float(v) for v in boxes[i]],
            "area": float(boxes[i, 2] * boxes[i, 3]),
            "iscrowd": int(crowd[i]),
            "score": float(data.score[i]),
        }
        for i in range(len(data))
    ]


def evaluate_detection(gt: MotData, pred: MotData, *, zero_marked_as_crowd: bool = True) -> DetectionReport:
    """COCO AP@0.5, AP@0.75 and mAP@0.5:0.95 of predicted boxes ``pred`` against ground truth ``gt``.

    Raises :class:`InputError` when the ground truth has no box to evaluate against, and
    :class:`BackendUnavailableError` when pycocotools (the ``eval`` extra) is missing.
    """
    coco_cls, cocoeval_cls = _load_pycocotools()
    zero = gt.score == 0
    if not zero_marked_as_crowd:
        gt = gt.select(~zero)
        zero = np.zeros(len(gt), dtype=bool)
    if int((~zero).sum()) == 0:
        raise InputError("ground truth has no boxes to evaluate against", where=gt.source or "gt")

    class_aware = _has_classes(gt) and (pred.is_empty or _has_classes(pred))
    gt_cat = gt.class_id if class_aware else np.full(len(gt), _SINGLE_CLASS, dtype=np.int64)
    pred_cat = pred.class_id if class_aware else np.full(len(pred), _SINGLE_CLASS, dtype=np.int64)
    cat_ids = sorted({int(c) for c in np.concatenate([gt_cat, pred_cat])})
    frames = np.union1d(gt.frame, pred.frame)
    images = [{"id": int(f)} for f in frames]
    categories = [{"id": c, "name": str(c)} for c in cat_ids]
    per_frame = np.unique(pred.frame, return_counts=True)[1]
    max_dets = max(100, int(per_frame.max()) if per_frame.size else 0)

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco_gt = coco_cls()
        coco_gt.dataset = {"images": images, "categories": categories, "annotations": _annotations(gt, gt_cat, zero)}
        coco_gt.createIndex()
        coco_dt = coco_cls()
        coco_dt.dataset = {
            "images": images,
            "categories": categories,
            "annotations": _annotations(pred, pred_cat, np.zeros(len(pred), dtype=bool)),
        }
        coco_dt.createIndex()
        ev = cocoeval_cls(coco_gt, coco_dt, iouType="bbox")
        ev.params.maxDets = [1, 10, max_dets]
        ev.params.areaRng = [[0.0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.evaluate()
        ev.accumulate()

    iou_thrs = np.asarray(ev.params.iouThrs)
    t50 = int(np.argmin(np.abs(iou_thrs - 0.5)))
    t75 = int(np.argmin(np.abs(iou_thrs - 0.75)))
    precision = np.asarray(ev.eval["precision"])[:, :, :, 0, -1]  # [iou, recall point, class]
    recall = np.asarray(ev.eval["recall"])[:, :, 0, -1]  # [iou, class]
    cat_order = list(ev.params.catIds)
    per_class = tuple(
        ClassAP(
            class_id=int(c),
            ap50=_mean_valid(precision[t50, :, k]),
            ap75=_mean_valid(precision[t75, :, k]),
            map50_95=_mean_valid(precision[:, :, k]),
            num_gt=int(((gt_cat == c) & ~zero).sum()),
            num_pred=int((pred_cat == c).sum()),
        )
        for k, c in enumerate(cat_order)
        if ((gt_cat == c) & ~zero).any()
    )
    return DetectionReport(
        ap50=_mean_valid(precision[t50]),
        ap75=_mean_valid(precision[t75]),
        map50_95=_mean_valid(precision),
        ar=_mean_valid(recall),
        per_class=per_class,
        class_aware=class_aware,
        num_frames=len(frames),
        num_gt=int((~zero).sum()),
        num_gt_ignored=int(zero.sum()),
        num_pred=len(pred),
    )
