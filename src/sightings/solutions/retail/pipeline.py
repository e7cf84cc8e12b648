"""One retail video end to end: track at the analysis rate → trajectories → roles → interactions → receipts →
metrics → warehouse rows, written with replace-by-run (re-running a video replaces its rows, never doubles them).

    config = load_retail_config(Path("retail.yaml"))
    analysis = process_video(video, config=config, receipts=receipts, shifts=shifts)
    with open_warehouse(config) as wh:
        write_analysis(wh, analysis, config=config)

``analyse_points`` is the pure part (no video, no detector), so tests feed it synthetic tracks. Folder runs
(resume, gaps between files, alerts) are in :mod:`~sightings.solutions.retail.folder_run`; reading the warehouse
back (report, dashboard) in :mod:`~sightings.solutions.retail.reports`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sightings.core.protocols import Warehouse
from sightings.solutions.retail.config import RetailConfig
from sightings.solutions.retail.gaps import RecordingGap, gaps_in_times
from sightings.solutions.retail.health import Alert, FrameStat, FrameStatsCollector
from sightings.solutions.retail.inputs import VideoFile
from sightings.solutions.retail.interactions import find_episodes
from sightings.solutions.retail.metrics import MetricValue, compute_metrics, summarise
from sightings.solutions.retail.purchases import JoinedReceipt, Receipt, ScoredEpisode, join_receipts, score_episodes
from sightings.solutions.retail.roles import RoleAssignment, ShiftWindow, assign_roles
from sightings.solutions.retail.schedule import Shift, shifts_for
from sightings.solutions.retail.trajectories import TrackPoint, Trajectory, build_trajectories, resample_points
from sightings.vision.track.linking import LinkOptions

__all__ = [
    "PERSON_LABELS",
    "RetailAnalysis",
    "analyse_points",
    "create_person_detector",
    "inputs_hash",
    "link_options_for",
    "load_models",
    "open_warehouse",
    "process_video",
    "step_seconds",
    "stored_receipts",
    "warehouse_rows",
    "write_analysis",
    "write_coverage",
    "write_receipts",
]

PERSON_LABELS = ("person",)


@dataclass(frozen=True, slots=True)
class RetailAnalysis:
    """What one video yielded, before it is written."""

    video: VideoFile
    duration_s: float
    step_s: float
    trajectories: dict[int, Trajectory]
    roles: RoleAssignment
    episodes: tuple[ScoredEpisode, ...]
    joined: tuple[JoinedReceipt, ...]
    metrics: tuple[MetricValue, ...]
    gaps: tuple[tuple[float, float], ...] = ()
    """recording gaps inside the file: (last frame before, first frame after), video seconds"""
    frame_stats: tuple[FrameStat, ...] = field(default=(), repr=False)
    content_hash: str = ""

    def gap_rows(self) -> list[RecordingGap]:
        v = self.video
        return [
            RecordingGap(
                v.run_id,
                v.store,
                v.camera,
                "in_file",
                v.started_at + timedelta(seconds=a),
                v.started_at + timedelta(seconds=b),
            )
            for a, b in self.gaps
        ]

    def summary(self) -> dict[str, Any]:
        totals = summarise({"seller_id": m.seller_id, "name": m.name, "value": m.value} for m in self.metrics).get(
            "", {}
        )
        return {
            "run_id": self.video.run_id,
            "video": str(self.video.path),
            "tracks": len(self.trajectories),
            "sellers": [self.roles.seller_id(t) for t in self.roles.sellers],
            "role_method": self.roles.method,
            "customers": len(self.roles.customers),
            "interactions": len(self.episodes),
            "successful_interactions": sum(e.purchased for e in self.episodes),
            "receipts_joined": sum(j.customer_track is not None for j in self.joined),
            "interaction_ratio": totals.get("interaction_ratio"),
            "gaps": len(self.gaps),
            "step_s": round(self.step_s, 3),
        }


def _shift_windows(shifts: Sequence[Shift], video: VideoFile, duration_s: float) -> list[ShiftWindow]:
    end = video.started_at + timedelta(seconds=duration_s)
    out = []
    for s in shifts_for(shifts, store=video.store, camera=video.camera, start=video.started_at, end=end):
        a = max(0.0, (s.start - video.started_at).total_seconds())
        b = min(duration_s, (s.end - video.started_at).total_seconds())
        out.append(ShiftWindow(s.seller_id, a, b))
    return out


def analyse_points(
    points: Sequence[tuple[int, TrackPoint]],
    *,
    video: VideoFile,
    duration_s: float,
    step_s: float,
    config: RetailConfig,
    receipts: Sequence[Receipt] = (),
    shifts: Sequence[Shift] | None = None,
    gaps: Sequence[tuple[float, float]] = (),
) -> RetailAnalysis:
    """Roles, episodes, receipt join and metrics from tracked points (``(track_id, point)``, ``step_s`` apart).

    The analysis runs on the points resampled to ``config.resample_s`` (:func:`resample_points`); the analysis
    keeps the tracked points themselves (``trajectories``, ``step_s``) for the warehouse and the CVAT export.

    ``shifts`` (None = no schedule) names the sellers (roles rule 3); ``gaps`` (video seconds) split episodes.
    """
    zones = config.zones_for(video.camera)
    trajectories = build_trajectories(points, zones)  # what was tracked: stored and exported as it is
    dense, sub_step = resample_points(points, step_s=step_s, grid_s=config.resample_s, gaps=gaps)
    analysed = trajectories if sub_step == step_s else build_trajectories(dense, zones)
    # the frame before a recording gap stands for its whole step, so on the grid the gap starts at its last sub-step
    analysed_gaps = [(min(a + step_s - sub_step, b), b) for a, b in gaps] if sub_step != step_s else list(gaps)
    windows = None if shifts is None else _shift_windows(shifts, video, duration_s)
    roles = assign_roles(
        analysed, step_s=sub_step, options=config.roles, has_counter=zones.has("counter"), shifts=windows
    )
    # unnamed sellers are per recording (as in the run id): two videos' track 1 are two people
    roles = replace(roles, video=video.recording)
    episodes = find_episodes(
        analysed,
        roles.sellers,
        roles.customers,
        step_s=sub_step,
        options=config.interactions,
        to_floor=zones.floor.to_floor if zones.floor is not None else None,
        gaps=analysed_gaps,
    )
    if zones.registers:  # this camera's checkout sees these registers only
        receipts = [r for r in receipts if r.register in zones.registers]
    joined = join_receipts(
        receipts,
        analysed,
        roles.customers,
        video_start=video.started_at,
        duration_s=duration_s,
        options=config.purchases,
    )
    scored = score_episodes(episodes, joined)
    metrics = compute_metrics(
        video_start=video.started_at, trajectories=analysed, roles=roles, episodes=scored, joined=joined
    )
    return RetailAnalysis(
        video, duration_s, step_s, trajectories, roles, tuple(scored), tuple(joined), tuple(metrics), tuple(gaps)
    )


def _alert_rows(run_id: str, store: str, camera: str, alerts: Sequence[Alert]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "store": store,
            "camera": camera,
            "ts": a.ts.astimezone(UTC),
            "kind": a.kind,
            "severity": a.severity,
            "value": float(a.value),
            "message": a.message,
        }
        for a in alerts
    ]


def _gap_rows(gaps: Sequence[RecordingGap]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": g.run_id,
            "store": g.store,
            "camera": g.camera,
            "kind": g.kind,
            "started_at": g.started_at.astimezone(UTC),
            "ended_at": g.ended_at.astimezone(UTC),
            "duration_s": float(g.duration_s),
        }
        for g in gaps
    ]


def warehouse_rows(
    analysis: RetailAnalysis,
    *,
    config_hash: str,
    analysis_fps: float,
    processed_at: datetime | None = None,
    alerts: Sequence[Alert] = (),
    between_gaps: Sequence[RecordingGap] = (),
) -> dict[str, list[dict[str, Any]]]:
    """Rows for ``runs``, ``tracks``, ``interactions``, ``metrics``, ``gaps`` and ``alerts``, keyed by the run id."""
    v = analysis.video
    base = {"run_id": v.run_id, "store": v.store, "camera": v.camera}
    start = v.started_at.astimezone(UTC)
    runs = [
        {
            **base,
            "video": str(v.path),
            "started_at": start,
            "duration_s": float(analysis.duration_s),
            "analysis_fps": float(analysis_fps),
            "config_hash": config_hash,
            "status": "complete",
            "processed_at": processed_at or datetime.now(UTC),
            "content_hash": analysis.content_hash,
        }
    ]
    tracks = [
        {
            **base,
            "track_id": tid,
            "ts": start + timedelta(seconds=p.t_s),
            "t_s": float(p.t_s),
            "frame": int(p.frame),
            "x1": float(p.x1),
            "y1": float(p.y1),
            "x2": float(p.x2),
            "y2": float(p.y2),
            "score": float(min(max(p.score, 0.0), 1.0)),
            "role": analysis.roles.role_of(tid),
            "zone": p.zone,
        }
        for tid, traj in analysis.trajectories.items()
        for p in traj.points
    ]
    interactions = [
        {
            **base,
            "seller_id": analysis.roles.seller_id(s.episode.seller_track),
            "seller_track": s.episode.seller_track,
            "customer_track": s.episode.customer_track,
            "started_at": start + timedelta(seconds=s.episode.start_s),
            "ended_at": start + timedelta(seconds=s.episode.end_s),
            "duration_s": float(s.episode.duration_s),
            "zone": s.episode.zone,
            "purchased": s.purchased,
            "amount": float(s.amount),
        }
        for s in analysis.episodes
    ]
    metrics = [
        {**base, "seller_id": m.seller_id, "hour": m.hour, "name": m.name, "value": float(m.value)}
        for m in analysis.metrics
    ]
    gaps = _gap_rows([*analysis.gap_rows(), *between_gaps])
    return {
        "runs": runs,
        "tracks": tracks,
        "interactions": interactions,
        "metrics": metrics,
        "gaps": gaps,
        "alerts": _alert_rows(analysis.video.run_id, analysis.video.store, analysis.video.camera, alerts),
    }


def write_analysis(
    warehouse: Warehouse,
    analysis: RetailAnalysis,
    *,
    config: RetailConfig,
    alerts: Sequence[Alert] = (),
    between_gaps: Sequence[RecordingGap] = (),
    run_hash: str | None = None,
) -> dict[str, int]:
    """Replace the run's rows in every table (validation happens before any delete; the runs row goes last).
    ``run_hash`` (default: the config's analysis hash) is kept as the run's ``config_hash``, the resume key."""
    fps = config.analysis_fps if config.stride is None and config.analysis_fps else 1.0 / analysis.step_s
    rows = warehouse_rows(
        analysis,
        config_hash=run_hash or config.analysis_hash(),
        analysis_fps=fps,
        alerts=alerts,
        between_gaps=between_gaps,
    )
    key = {"run_id": analysis.video.run_id}
    # the runs row last: a run row marks a finished write (resume trusts it)
    tables = ("tracks", "interactions", "metrics", "gaps", "alerts", "runs")
    return {table: warehouse.replace(table, rows[table], key=key) for table in tables}


def write_coverage(
    warehouse: Warehouse, *, run_id: str, store: str, camera: str, gaps: Sequence[RecordingGap], alerts: Sequence[Alert]
) -> int:
    """Replace a camera's day-level coverage rows (``run_id`` from :func:`~sightings.solutions.retail.hours.
    coverage_run_id`) in ``gaps`` and ``alerts``; none given = delete the old ones. Returns the gap rows written."""
    key = {"run_id": run_id}
    written = warehouse.replace("gaps", _gap_rows(gaps), key=key)
    warehouse.replace("alerts", _alert_rows(run_id, store, camera, alerts), key=key)
    return written


def stored_receipts(warehouse: Warehouse, store: str, start: datetime, end: datetime) -> list[Receipt]:
    """The store's receipts in the warehouse from ``start`` to ``end``, from every file ever given, each once: a
    receipt id seen in two files (a re-export, a copy) counts once per register; rows without an id of their own
    (``line-N``) count once per register, time and amount."""
    from sightings.analytics.warehouse_base import sql_literal
    from sightings.solutions.retail.reports import database_of

    rows = warehouse.query(
        f"SELECT ts, amount, register, receipt_id FROM {database_of(warehouse)}.receipts "
        f"WHERE store = {sql_literal(store)} AND ts >= {sql_literal(start.astimezone(UTC))} "
        f"AND ts <= {sql_literal(end.astimezone(UTC))} ORDER BY ts, register, receipt_id, source"
    )
    seen: set[tuple[Any, ...]] = set()
    out: list[Receipt] = []
    for r in rows:
        ts = r["ts"] if r["ts"].tzinfo is not None else r["ts"].replace(tzinfo=UTC)
        receipt = Receipt(ts, float(r["amount"]), str(r["register"]), str(r["receipt_id"]))
        own_id = not receipt.receipt_id.startswith("line-")
        key = (receipt.register, receipt.receipt_id) if own_id else (receipt.register, ts, receipt.amount)
        if key not in seen:
            seen.add(key)
            out.append(receipt)
    return out


def inputs_hash(config_hash: str, receipts: Sequence[Receipt], shifts: Sequence[Shift] | None) -> str:
    """The resume key of one video: the analysis settings' hash, and the receipts and shift schedule its analysis
    joined (receipts or a schedule added later make the video be analysed again). With neither, the settings' hash
    itself, as before they counted."""
    if not receipts and not shifts:
        return config_hash
    data = {
        "config": config_hash,
        "receipts": sorted((r.ts.astimezone(UTC).isoformat(), r.amount, r.register, r.receipt_id) for r in receipts),
        "shifts": sorted(
            (x.seller_id, x.name, x.start.isoformat(), x.end.isoformat(), x.camera, x.store) for x in shifts or ()
        ),
    }
    return hashlib.sha256(json.dumps(data, separators=(",", ":")).encode()).hexdigest()[:16]


def write_receipts(warehouse: Warehouse, receipts: Sequence[Receipt], *, source: str, store: str) -> int:
    """Replace the receipts that came from ``source`` (re-reading a file never doubles them)."""
    rows = [
        {
            "source": source,
            "store": store,
            "register": r.register,
            "receipt_id": r.receipt_id,
            "ts": r.ts.astimezone(UTC),
            "amount": float(r.amount),
        }
        for r in receipts
    ]
    return warehouse.replace("receipts", rows, key={"source": source})


def step_seconds(times_s: Sequence[float], indices: Sequence[int], fps: float | None, fallback: float) -> float:
    """Seconds one analysed frame stands for: the median time between analysed frames (robust to gaps and to
    variable-rate files whose average fps is skewed by a gap), else index steps ÷ fps, else ``fallback``."""
    if len(times_s) > 1:
        step = float(statistics.median(b - a for a, b in itertools.pairwise(times_s)))
        if step > 0:
            return step
    if fps and len(indices) > 1:
        return float(statistics.median(b - a for a, b in itertools.pairwise(indices))) / fps
    return fallback


def create_person_detector(config: RetailConfig) -> Any:
    """The person detector ``config`` names (its options, tiles and threshold), to load once for many videos."""
    from sightings.vision.pipeline import create_detector

    return create_detector(
        config.detector,
        options=config.detector_options,
        tiles=config.tiles,
        classes=PERSON_LABELS,
        threshold=config.threshold,
    )


def load_models(config: RetailConfig, *, detector: Any = None) -> tuple[Any, Any]:
    """The person detector (unless ``detector`` is given) and the link embedder (None: colours, or linking off) that
    ``config`` names, loaded once for many videos: a model the models directory lacks fails here."""
    from sightings.vision.pipeline import create_link_embedder

    detector = detector if detector is not None else create_person_detector(config)
    return detector, create_link_embedder(config.link_embedder) if config.link_s else None


def link_options_for(config: RetailConfig, camera: str) -> LinkOptions | None:
    """The linker's options for ``camera``: the defaults, with its entrance zones as doorways when
    ``entrance_doorways`` is on, and no backward pass when ``backward_check`` is off (None: the defaults)."""
    doorways: tuple[tuple[tuple[float, float], ...], ...] = ()
    if config.entrance_doorways:
        doorways = tuple(tuple(z.points) for z in config.zones_for(camera).zones if z.kind == "entrance")
    if not doorways and config.backward_check:
        return None
    return LinkOptions(doorways=doorways, backward_hold=LinkOptions().backward_hold if config.backward_check else 0)


def process_video(
    video: VideoFile,
    *,
    config: RetailConfig,
    receipts: Sequence[Receipt] = (),
    detector: Any = None,
    shifts: Sequence[Shift] | None = None,
    content_hash: str = "",
    link_embedder: Any = None,
) -> RetailAnalysis:
    """Track people in ``video`` at the analysis rate and analyse the tracks (nothing written).

    ``detector`` and ``link_embedder`` (objects, loaded once by a caller with many videos) default to the ones
    ``config`` names.

    Timestamp jumps between analysed frames longer than ``gaps.min_gap_s`` are recording gaps: episodes do not
    span them. Per-frame statistics for the health checks are kept in ``frame_stats``.
    """
    from sightings.vision.pipeline import create_tracker, track_video

    fps, stride = config.sampling
    collector = FrameStatsCollector()
    result = track_video(
        video.path,
        detector=detector if detector is not None else create_person_detector(config),
        tracker=create_tracker(config.tracker, options=config.tracker_options),
        fps=fps,
        stride=stride,
        classes=PERSON_LABELS,
        interpolate_gap_s=config.interpolate_s,
        link_s=config.link_s,
        link_options=link_options_for(config, video.camera),
        link_embedder=link_embedder if link_embedder is not None else config.link_embedder,
        smooth_s=config.smooth_s,
        on_frame=collector,
    )
    media_fps = result.media.fps if result.media else None
    duration = (result.media.duration_s if result.media else None) or 0.0
    times = [s.t_s for s in collector.stats]
    step = step_seconds(times, result.frame_indices, media_fps, 1.0 / fps if fps else float(stride or 1))
    gaps = gaps_in_times(times, step_s=step, min_gap_s=config.gaps.min_gap_s)
    if collector.stats:
        duration = max(duration, collector.stats[-1].t_s + step)
    points = [(r.track_id, TrackPoint(r.t_s, r.x1, r.y1, r.x2, r.y2, r.frame, r.score)) for r in result.rows]
    analysis = analyse_points(
        points,
        video=video,
        duration_s=duration,
        step_s=step,
        config=config,
        receipts=receipts,
        shifts=shifts,
        gaps=gaps,
    )
    from dataclasses import replace

    return replace(analysis, frame_stats=tuple(collector.stats), content_hash=content_hash)


@contextmanager
def open_warehouse(config: RetailConfig, *, path: Path | None = None) -> Iterator[Warehouse]:
    """The configured warehouse (chDB at ``path`` / config path / ``<data_dir>/warehouse`` by default), closed after."""
    from sightings.core.registry import WAREHOUSES

    opts = config.warehouse
    if opts.kind == "clickhouse" or opts.url:
        wh = WAREHOUSES.create(opts.kind, url=opts.url)
    elif opts.kind == "chdb":
        if path is None:
            if opts.path:
                path = Path(opts.path)
            else:
                from sightings.core.config import get_settings

                path = get_settings().data_dir / "warehouse"
        wh = WAREHOUSES.create("chdb", path=path)
    else:
        wh = WAREHOUSES.create(opts.kind)
    try:
        yield wh
    finally:
        close = getattr(wh, "close", None)  # the fake has nothing to close
        if close is not None:
            close()
