"""How far a run's metrics are from those of hand-corrected tracks: the pilot's way of measuring accuracy.

    sightings retail export-cvat RUN_ID --format cvat-xml --out run.xml   # the run's tracks, for CVAT
    # ... people fix identities and boxes in CVAT, then export the task as "CVAT for video 1.1" or "MOT 1.1"
    sightings retail accuracy RUN_ID --gt fixed.xml [--receipts receipts.csv] [--json]

Both sets of tracks go through the same analysis (:func:`~sightings.solutions.retail.pipeline.analyse_points`:
roles, episodes, receipt join, metrics) with the run's store, camera, start time and the retail config; each store
metric's deviation is ``100 × (pipeline − ground truth) / ground truth``. The mean of the absolute deviations is the
figure the issue's ≤ 5 % goal is about (``benchmarks/bench_retail_accuracy.py`` computes it on PETS09 with the same
functions).

Where the error comes from: the run's own boxes are also analysed with each box named by the corrected person it
overlaps in its frame (:func:`name_by_truth`). Lower than the run's own deviation: the difference is the run's
identities (switches, people split in two). Higher: the run's tracks make up for boxes it missed (a person kept
through an occlusion by linking and gap filling, which boxes named one by one cannot do).

Times: a track point's time is its frame's. The run's own points carry their seconds; frames of the corrected file
(1-based, as CVAT and MOT number them) become seconds through the video's frame rate, taken from the run's points
(frame index ÷ seconds) unless given. The ground truth may be denser than the run (CVAT exports every frame); the
analysis resamples both to the same time grid (``resample_s``).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sightings.core.errors import InputError, NotFoundError
from sightings.core.protocols import Warehouse
from sightings.evaluate.mot_io import MotData
from sightings.solutions.retail.config import RetailConfig
from sightings.solutions.retail.inputs import VideoFile
from sightings.solutions.retail.metrics import summarise
from sightings.solutions.retail.pipeline import RetailAnalysis, analyse_points, step_seconds
from sightings.solutions.retail.purchases import Receipt
from sightings.solutions.retail.reports import HOURLY_METRICS, database_of
from sightings.solutions.retail.schedule import Shift
from sightings.solutions.retail.trajectories import TrackPoint

__all__ = [
    "METRICS",
    "AccuracyReport",
    "RunInfo",
    "compare_tracks",
    "deviation",
    "mean_abs_deviation",
    "name_by_truth",
    "points_from_mot",
    "read_run",
    "run_points",
    "run_receipts",
    "store_totals",
]

METRICS = (
    *HOURLY_METRICS,  # customers, served customers, interactions (successful), their seconds, purchases, revenue
    "purchases_with_consultation",
    "interaction_ratio",
    "success_rate",
    "avg_interaction_s",
    "avg_purchase_with_consultation",
    "avg_purchase_without_consultation",
)
"""The store metrics compared (day totals, all sellers together)."""

Points = list[tuple[int, TrackPoint]]


def deviation(value: float | None, reference: float | None) -> float | None:
    """``100 × (value − reference) / reference``; 0 when both are 0; None when undefined (a missing value, or a
    reference of 0 and a value that is not)."""
    if value is None or reference is None:
        return None
    if reference == 0:
        return 0.0 if value == 0 else None
    return 100.0 * (value - reference) / reference


def mean_abs_deviation(measured: Mapping[str, float | None], reference: Mapping[str, float | None]) -> float | None:
    """Mean |:func:`deviation`| over the :data:`METRICS` where it is defined (None when it is nowhere)."""
    devs = [abs(d) for m in METRICS if (d := deviation(measured.get(m), reference.get(m))) is not None]
    return statistics.fmean(devs) if devs else None


def store_totals(analysis: RetailAnalysis) -> dict[str, float | None]:
    """The :data:`METRICS` of one analysis, for the whole store (every seller together)."""
    rows = ({"seller_id": m.seller_id, "name": m.name, "value": m.value} for m in analysis.metrics)
    totals = summarise(rows).get("", {})
    return {name: totals.get(name) for name in METRICS}


@dataclass(frozen=True)
class AccuracyReport:
    """Each metric from the ground truth and from the pipeline, and their deviation in %."""

    reference: Mapping[str, float | None]
    measured: Mapping[str, float | None]
    sellers: tuple[tuple[str, ...], tuple[str, ...]]
    """the sellers found in the ground truth and in the pipeline's tracks"""
    methods: tuple[str, str]
    """how each set's sellers were found (roles rule: longest, zones, schedule)"""
    true_identities: Mapping[str, float | None] | None = None
    """the metrics of the pipeline's own boxes, each named by the ground-truth person it overlaps
    (:func:`name_by_truth`); None when no box overlaps the ground truth (frames that do not line up)"""
    deviation_pct: Mapping[str, float | None] = field(init=False)

    def __post_init__(self) -> None:
        devs = {m: deviation(self.measured.get(m), self.reference.get(m)) for m in METRICS}
        object.__setattr__(self, "deviation_pct", devs)

    @property
    def mean_abs_deviation(self) -> float | None:
        """Mean |deviation| over the metrics where it is defined (None when none is)."""
        return mean_abs_deviation(self.measured, self.reference)

    @property
    def true_identities_deviation_pct(self) -> Mapping[str, float | None]:
        """Each metric's deviation with true identities on the pipeline's own boxes (empty when none overlaps)."""
        if self.true_identities is None:
            return {}
        return {m: deviation(self.true_identities.get(m), self.reference.get(m)) for m in METRICS}

    @property
    def true_identities_deviation(self) -> float | None:
        """Mean |deviation| with true identities on the pipeline's own boxes (None when none overlaps)."""
        return None if self.true_identities is None else mean_abs_deviation(self.true_identities, self.reference)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metrics": {
                m: {
                    "ground_truth": self.reference.get(m),
                    "pipeline": self.measured.get(m),
                    "deviation_pct": self.deviation_pct[m],
                }
                for m in METRICS
            },
            "mean_abs_deviation_pct": self.mean_abs_deviation,
            "with_true_identities": None
            if self.true_identities is None
            else {
                "metrics": {m: self.true_identities.get(m) for m in METRICS},
                "mean_abs_deviation_pct": self.true_identities_deviation,
            },
            "sellers": {"ground_truth": list(self.sellers[0]), "pipeline": list(self.sellers[1])},
            "role_method": {"ground_truth": self.methods[0], "pipeline": self.methods[1]},
        }


def _step_of(points: Points, fallback: float) -> float:
    """Seconds one sampled frame of ``points`` stands for (:func:`~sightings.solutions.retail.pipeline.step_seconds`
    over their distinct times)."""
    return step_seconds(sorted({p.t_s for _, p in points}), (), None, fallback)


def compare_tracks(
    pipeline: Points,
    truth: Points,
    *,
    video: VideoFile,
    duration_s: float,
    config: RetailConfig,
    receipts: Sequence[Receipt] = (),
    shifts: Sequence[Shift] | None = None,
    pipeline_step_s: float | None = None,
) -> AccuracyReport:
    """Analyse both sets of points the same way (``shifts``: the schedule that names the sellers, as in the run)
    and compare their store metrics."""
    if not truth:
        raise InputError("the ground truth has no boxes", where="ground truth")
    step = pipeline_step_s or _step_of(pipeline, 1.0)
    named = name_by_truth(pipeline, truth)
    sets = [(truth, _step_of(truth, step)), (pipeline, step)] + ([(named, step)] if named else [])
    analyses = [
        analyse_points(
            points,
            video=video,
            duration_s=duration_s,
            step_s=step_s,
            config=config,
            receipts=receipts,
            shifts=shifts,
        )
        for points, step_s in sets
    ]
    gt, ours = analyses[:2]
    return AccuracyReport(
        store_totals(gt),
        store_totals(ours),
        (tuple(map(gt.roles.seller_id, gt.roles.sellers)), tuple(map(ours.roles.seller_id, ours.roles.sellers))),
        (gt.roles.method, ours.roles.method),
        store_totals(analyses[2]) if named else None,
    )


def name_by_truth(pipeline: Points, truth: Points, *, min_iou: float = 0.3) -> Points:
    """The pipeline's boxes, each named by the ground-truth person it overlaps in the same frame: pairs taken
    greedily by IoU (above ``min_iou``), one box per person and frame; boxes that overlap nobody are dropped.

    Perfect identities on the pipeline's own boxes: analysed like the rest, they show what the run's identities cost
    (or, when the result is worse, what its linking and gap filling made up for).
    """
    people: dict[int, list[tuple[int, TrackPoint]]] = {}
    for person, p in truth:
        people.setdefault(p.frame, []).append((person, p))
    boxes: dict[int, list[TrackPoint]] = {}
    for _, p in pipeline:
        boxes.setdefault(p.frame, []).append(p)
    out: Points = []
    for frame, found in boxes.items():
        pairs = sorted(
            ((p.iou(g), i, person) for i, p in enumerate(found) for person, g in people.get(frame, ())),
            key=lambda pair: (-pair[0], pair[1], pair[2]),
        )
        used_boxes: set[int] = set()
        used_people: set[int] = set()
        for value, i, person in pairs:
            if value <= min_iou:
                break
            if i not in used_boxes and person not in used_people:
                used_boxes.add(i)
                used_people.add(person)
                out.append((person, found[i]))
    out.sort(key=lambda row: (row[1].t_s, row[0]))
    return out


def points_from_mot(data: MotData, *, fps: float) -> Points:
    """MOT/CVAT boxes (frames 1-based) as ``(track id, point)``, the frame's time from ``fps``."""
    if not fps > 0:
        raise InputError(f"the video's frame rate must be > 0, got {fps}", where="fps")
    out: Points = []
    for i in range(len(data)):
        index = int(data.frame[i]) - 1
        x, y, w, h = float(data.x[i]), float(data.y[i]), float(data.w[i]), float(data.h[i])
        out.append((int(data.id[i]), TrackPoint(index / fps, x, y, x + w, y + h, index, float(data.score[i]))))
    return out


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A processed video, as the ``runs`` table keeps it (kept after the raw tracks expire)."""

    run_id: str
    store: str
    camera: str
    video: str
    started_at: datetime
    duration_s: float
    analysis_fps: float
    config_hash: str

    @property
    def video_file(self) -> VideoFile:
        from pathlib import Path

        return VideoFile(Path(self.video), self.store, self.camera, self.started_at)


def read_run(warehouse: Warehouse, run_id: str) -> RunInfo:
    from sightings.analytics.warehouse_base import sql_literal

    rows = warehouse.query(
        "SELECT run_id, store, camera, video, started_at, duration_s, analysis_fps, config_hash "
        f"FROM {database_of(warehouse)}.runs WHERE run_id = {sql_literal(run_id)} LIMIT 1"
    )
    if not rows:
        raise NotFoundError("no such run in the warehouse (see `sightings retail report`)", where=run_id)
    r = rows[0]
    return RunInfo(
        str(r["run_id"]), str(r["store"]), str(r["camera"]), str(r["video"]), r["started_at"],
        float(r["duration_s"]), float(r["analysis_fps"]), str(r["config_hash"]),
    )  # fmt: skip


def run_points(warehouse: Warehouse, run_id: str) -> tuple[Points, float | None]:
    """The run's raw track points (kept 3 days) and the video's frame rate they show (frame index ÷ seconds)."""
    from sightings.analytics.warehouse_base import sql_literal

    rows = warehouse.query(
        f"SELECT track_id, t_s, x1, y1, x2, y2, frame, score FROM {database_of(warehouse)}.tracks "
        f"WHERE run_id = {sql_literal(run_id)} ORDER BY frame, track_id"
    )
    if not rows:
        raise NotFoundError(
            "no track points for this run (older than the 3-day TTL? give the exported file with --pipeline)",
            where=run_id,
        )
    points = [
        (
            int(r["track_id"]),
            TrackPoint(float(r["t_s"]), r["x1"], r["y1"], r["x2"], r["y2"], int(r["frame"]), float(r["score"])),
        )
        for r in rows
    ]
    rates = [p.frame / p.t_s for _, p in points if p.t_s > 0 and p.frame > 0]
    return points, (float(statistics.median(rates)) if rates else None)


def run_receipts(warehouse: Warehouse, run: RunInfo, *, margin_s: float) -> list[Receipt]:
    """The store's receipts from the warehouse within the run's time span (± ``margin_s``, the join window), each
    once (:func:`~sightings.solutions.retail.pipeline.stored_receipts`)."""
    from sightings.solutions.retail.pipeline import stored_receipts

    start, end = receipt_span(run, margin_s=margin_s)
    return stored_receipts(warehouse, run.store, start, end)


def receipt_span(run: RunInfo, *, margin_s: float) -> tuple[datetime, datetime]:
    """The times whose receipts the run's analysis can join: its span widened by ``margin_s`` on both sides."""
    return (
        run.started_at - timedelta(seconds=margin_s),
        run.started_at + timedelta(seconds=run.duration_s + margin_s),
    )
