"""Multi-object tracking metrics: the HOTA family (TrackEval) and CLEAR-MOT + identity metrics (py-motmetrics).

Both libraries are the ``eval`` extra and are imported on first use. Conventions, chosen to reproduce the
MOT Challenge tools:

* Frames evaluated are the union of the frames in ground truth and predictions (a frame with only
  predictions counts them as false positives), as in ``motmetrics.utils.compare_to_groundtruth``.
* Ground-truth rows whose ``conf`` column is exactly 0 ("do not consider") are dropped before evaluation,
  as TrackEval does for MOT Challenge data (``drop_zero_marked_gt=False`` keeps them).
* CLEAR/identity matching: IoU ≥ ``iou_threshold`` (motmetrics distance ``1 - IoU`` ≤ ``1 - iou_threshold``).
* HOTA is averaged over TrackEval's 19 localisation thresholds α = 0.05 … 0.95 (no ``iou_threshold``).
* ``motp`` is the mean IoU of matched pairs (MOT Challenge devkit convention, higher is better);
  py-motmetrics itself reports the mean distance ``1 - IoU``.
* A ratio whose denominator is empty (e.g. precision with no predictions) is 0, as in TrackEval; LocA with
  no match is TrackEval's 1.

NumPy 2 removed ``np.asfarray``, which ``motmetrics`` 1.4.0 (the newest release) still calls in
``distances.iou_matrix``; :func:`install_numpy2_aliases` puts it back before motmetrics is imported.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendUnavailableError, InputError
from sightings.evaluate.mot_io import MotData

__all__ = ["TrackingReport", "box_iou_xywh", "evaluate_tracking", "install_numpy2_aliases"]

_INSTALL_HINT = "pip install 'sightings[eval]'"


# ---- NumPy 2 compatibility shim -----------------------------------------------------------------------------
def _asfarray(a: npt.ArrayLike, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.inexact[Any]]:
    """``np.asfarray`` as NumPy 1.x defined it: ``a`` as an array of a float type (float64 unless inexact)."""
    dt = np.dtype(dtype)
    return np.asarray(a, dtype=dt if np.issubdtype(dt, np.inexact) else np.float64)


# Names NumPy 2 removed that a metric library we load still uses, and what each stood for. Checked against
# the releases the ``eval`` extra installs: motmetrics 1.4.0 calls np.asfarray; TrackEval >= 1.3 and
# pycocotools >= 2.0.8 use none of the removed names (np.float/np.int/np.bool were fixed there), so only
# asfarray is put back. Add a name here, with the library that needs it, if a release regresses.
_NUMPY2_REMOVED: dict[str, Any] = {"asfarray": _asfarray}


def install_numpy2_aliases() -> list[str]:
    """Give NumPy 2 back the removed names in ``_NUMPY2_REMOVED`` that are missing; returns the names added.

    Only names NumPy no longer has are set (on NumPy 1.x this does nothing), so no existing behaviour
    changes; call it before importing the library that needs them.
    """
    added = []
    for name, value in _NUMPY2_REMOVED.items():
        if name not in np.__dict__:
            setattr(np, name, value)
            added.append(name)
    return added


def _load_motmetrics() -> ModuleType:
    install_numpy2_aliases()
    try:
        import motmetrics
    except ImportError as err:
        raise BackendUnavailableError(
            f"tracking metrics need py-motmetrics ({err})", where="motmetrics", hint=_INSTALL_HINT
        ) from None
    module: ModuleType = motmetrics
    return module


def _load_trackeval_hota() -> type[Any]:
    install_numpy2_aliases()
    try:
        from trackeval.metrics import HOTA
    except ImportError as err:
        raise BackendUnavailableError(f"HOTA needs TrackEval ({err})", where="trackeval", hint=_INSTALL_HINT) from None
    return HOTA  # type: ignore[no-any-return]


# ---- geometry -----------------------------------------------------------------------------------------------
def box_iou_xywh(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """IoU between every box of ``a`` ``(N, 4)`` and of ``b`` ``(M, 4)``, boxes as left, top, width, height.

    No "+1 pixel" convention (as motmetrics and TrackEval); two boxes with no area have IoU 0.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax1, ay1, ax2, ay2 = a[:, 0:1], a[:, 1:2], a[:, 0:1] + a[:, 2:3], a[:, 1:2] + a[:, 3:4]
    bx1, by1, bx2, by2 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), 0.0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(ay1, by1), 0.0, None)
    inter = iw * ih
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    out: npt.NDArray[np.float64] = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


# ---- report -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TrackingReport:
    """Tracking metrics for one sequence. Ratios are fractions in [0, 1] (MOTA may be negative)."""

    # HOTA family (TrackEval; mean over alpha = 0.05 ... 0.95)
    hota: float
    deta: float
    assa: float
    loca: float
    detre: float
    detpr: float
    assre: float
    asspr: float
    # CLEAR-MOT (py-motmetrics, IoU >= iou_threshold)
    mota: float
    motp: float  # mean IoU of matches
    num_switches: int
    num_fragmentations: int
    num_false_positives: int
    num_misses: int
    num_matches: int
    mostly_tracked: int
    partially_tracked: int
    mostly_lost: int
    recall: float
    precision: float
    # identity (py-motmetrics)
    idf1: float
    idp: float
    idr: float
    # counts
    num_frames: int
    num_gt_ids: int
    num_pred_ids: int
    num_gt_dets: int
    num_pred_dets: int
    num_gt_ignored: int
    iou_threshold: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain JSON-ready dict."""
        return asdict(self)


# ---- evaluation ---------------------------------------------------------------------------------------------
def _check_unique(data: MotData, role: str) -> None:
    dups = data.duplicate_ids()
    if dups:
        frame, ident = dups[0]
        more = f" (and {len(dups) - 1} more)" if len(dups) > 1 else ""
        raise InputError(
            f"{role} id {ident} has more than one box in frame {frame}{more}; a track has one box per frame",
            where=data.source or role,
        )


def _rows_by_frame(data: MotData, frames: npt.NDArray[np.int64]) -> list[npt.NDArray[np.intp]]:
    """Row indices of ``data`` for each frame of ``frames`` (sorted), in file order within a frame."""
    order = np.argsort(data.frame, kind="stable")
    sorted_frames = data.frame[order]
    lo = np.searchsorted(sorted_frames, frames, side="left")
    hi = np.searchsorted(sorted_frames, frames, side="right")
    return [order[a:b] for a, b in zip(lo, hi, strict=True)]


def _finite(v: Any) -> float:
    f = float(v)
    return 0.0 if math.isnan(f) else f


def _clear_and_identity(
    gt: MotData,
    pred: MotData,
    *,
    gt_rows: list[npt.NDArray[np.intp]],
    pred_rows: list[npt.NDArray[np.intp]],
    frames: npt.NDArray[np.int64],
    iou_threshold: float,
) -> dict[str, Any]:
    mm = _load_motmetrics()
    acc = mm.MOTAccumulator(auto_id=False)
    gt_boxes, pred_boxes = gt.xywh, pred.xywh
    max_dist = 1.0 - iou_threshold
    for frame, gi, pi in zip(frames, gt_rows, pred_rows, strict=True):
        dists = mm.distances.iou_matrix(gt_boxes[gi], pred_boxes[pi], max_iou=max_dist)
        acc.update(gt.id[gi], pred.id[pi], dists, frameid=int(frame))
    names = [
        "num_frames",
        "mota",
        "motp",
        "idf1",
        "idp",
        "idr",
        "recall",
        "precision",
        "num_switches",
        "num_fragmentations",
        "num_false_positives",
        "num_misses",
        "num_matches",
        "mostly_tracked",
        "partially_tracked",
        "mostly_lost",
    ]
    with warnings.catch_warnings():
        # motmetrics 1.4.0 trips pandas deprecation warnings that its callers cannot act on.
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=RuntimeWarning)  # 0/0 ratios, mapped to 0 below
        summary: dict[str, Any] = mm.metrics.create().compute(acc, metrics=names, return_dataframe=False)
    return summary


def _hota(
    gt: MotData,
    pred: MotData,
    gt_rows: list[npt.NDArray[np.intp]],
    pred_rows: list[npt.NDArray[np.intp]],
) -> dict[str, float]:
    hota_metric = _load_trackeval_hota()()
    # TrackEval wants ids 0..n-1 and, per time step, id arrays plus a gt x pred similarity (IoU) matrix.
    gt_uniq, gt_idx = np.unique(gt.id, return_inverse=True)
    pr_uniq, pr_idx = np.unique(pred.id, return_inverse=True)
    gt_boxes, pred_boxes = gt.xywh, pred.xywh
    data = {
        "num_timesteps": len(gt_rows),
        "num_gt_ids": len(gt_uniq),
        "num_tracker_ids": len(pr_uniq),
        "num_gt_dets": len(gt),
        "num_tracker_dets": len(pred),
        "gt_ids": [gt_idx[r].astype(int) for r in gt_rows],
        "tracker_ids": [pr_idx[r].astype(int) for r in pred_rows],
        "similarity_scores": [
            box_iou_xywh(gt_boxes[g], pred_boxes[p]) for g, p in zip(gt_rows, pred_rows, strict=True)
        ],
    }
    res = hota_metric.eval_sequence(data)
    return {k: float(np.mean(res[k])) for k in ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr")}


def evaluate_tracking(
    gt: MotData,
    pred: MotData,
    *,
    iou_threshold: float = 0.5,
    drop_zero_marked_gt: bool = True,
) -> TrackingReport:
    """Score tracker output ``pred`` against ground truth ``gt`` (one sequence).

    HOTA, DetA, AssA, LocA (and their recall/precision parts) come from TrackEval's HOTA; MOTA, MOTP,
    IDF1, IDP, IDR, recall, precision, ID switches, fragmentations, FP, FN and mostly tracked/lost from
    py-motmetrics with IoU matching at ``iou_threshold``. Raises :class:`InputError` for an empty ground
    truth, an ``iou_threshold`` outside (0, 1], or an id with two boxes in one frame;
    :class:`BackendUnavailableError` when the ``eval`` extra is not installed.
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise InputError(f"must be in (0, 1], got {iou_threshold}", where="iou_threshold")
    num_ignored = 0
    if drop_zero_marked_gt and len(gt):
        keep = gt.score != 0
        num_ignored = int((~keep).sum())
        gt = gt.select(keep)
    if gt.is_empty:
        raise InputError("ground truth has no boxes to evaluate against", where=gt.source or "gt")
    _check_unique(gt, "ground-truth")
    _check_unique(pred, "predicted")

    frames = np.union1d(gt.frame, pred.frame)
    gt_rows = _rows_by_frame(gt, frames)
    pred_rows = _rows_by_frame(pred, frames)

    clear = _clear_and_identity(
        gt, pred, gt_rows=gt_rows, pred_rows=pred_rows, frames=frames, iou_threshold=iou_threshold
    )
    hota = _hota(gt, pred, gt_rows, pred_rows)
    matches = int(clear["num_matches"])
    return TrackingReport(
        hota=hota["HOTA"],
        deta=hota["DetA"],
        assa=hota["AssA"],
        loca=hota["LocA"],
        detre=hota["DetRe"],
        detpr=hota["DetPr"],
        assre=hota["AssRe"],
        asspr=hota["AssPr"],
        mota=_finite(clear["mota"]),
        motp=1.0 - _finite(clear["motp"]) if matches else 0.0,
        num_switches=int(clear["num_switches"]),
        num_fragmentations=int(clear["num_fragmentations"]),
        num_false_positives=int(clear["num_false_positives"]),
        num_misses=int(clear["num_misses"]),
        num_matches=matches,
        mostly_tracked=int(clear["mostly_tracked"]),
        partially_tracked=int(clear["partially_tracked"]),
        mostly_lost=int(clear["mostly_lost"]),
        recall=_finite(clear["recall"]),
        precision=_finite(clear["precision"]),
        idf1=_finite(clear["idf1"]),
        idp=_finite(clear["idp"]),
        idr=_finite(clear["idr"]),
        num_frames=int(clear["num_frames"]),
        num_gt_ids=int(np.unique(gt.id).size),
        num_pred_ids=int(np.unique(pred.id).size),
        num_gt_dets=len(gt),
        num_pred_dets=len(pred),
        num_gt_ignored=num_ignored,
        iou_threshold=float(iou_threshold),
    )


def frame_spacing(data: MotData) -> int:
    """The step between the frames ``data`` has boxes on, when they all lie on one grid (a tracker run at a stride:
    frames 1, 6, 11, …), else 1: the greatest common divisor of the gaps between its distinct frames."""
    frames = data.frames()
    if len(frames) < 3:  # two frames say nothing about a grid
        return 1
    return max(1, int(np.gcd.reduce(np.diff(frames))))
