"""One retail video end to end: track at the analysis rate → trajectories → roles → interactions → receipts →
metrics → warehouse rows, written with replace-by-run (re-running a video replaces its rows, never doubles them).

    config = load_retail_config(Path("retail.yaml"))
    with open_warehouse(config) as wh:
        result = run_folder(Path("videos/"), store="shop12", day=date(2026, 3, 1), config=config, warehouse=wh,
                            receipts_path=Path("receipts.csv"))

``analyse_points`` is the pure part (no video, no detector), so tests feed it synthetic tracks.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sightings.core.protocols import Warehouse
from sightings.solutions.retail.config import RetailConfig
from sightings.solutions.retail.inputs import SkippedFile, VideoFile, scan_folder
from sightings.solutions.retail.interactions import find_episodes
from sightings.solutions.retail.metrics import MetricValue, compute_metrics, summarise
from sightings.solutions.retail.purchases import (
    JoinedReceipt,
    Receipt,
    ScoredEpisode,
    join_receipts,
    read_receipts,
    score_episodes,
)
from sightings.solutions.retail.roles import RoleAssignment, assign_roles, seller_name
from sightings.solutions.retail.trajectories import TrackPoint, Trajectory, build_trajectories

__all__ = [
    "FolderPlan",
    "RetailAnalysis",
    "RunFolderResult",
    "analyse_points",
    "open_warehouse",
    "plan_folder",
    "process_video",
    "read_report",
    "run_folder",
    "run_plan",
    "warehouse_rows",
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

    def summary(self) -> dict[str, Any]:
        totals = summarise({"seller_id": m.seller_id, "name": m.name, "value": m.value} for m in self.metrics).get(
            "", {}
        )
        return {
            "run_id": self.video.run_id,
            "video": str(self.video.path),
            "tracks": len(self.trajectories),
            "sellers": [seller_name(t) for t in self.roles.sellers],
            "role_method": self.roles.method,
            "customers": len(self.roles.customers),
            "interactions": len(self.episodes),
            "successful_interactions": sum(e.purchased for e in self.episodes),
            "receipts_joined": sum(j.customer_track is not None for j in self.joined),
            "interaction_ratio": totals.get("interaction_ratio"),
        }


def analyse_points(
    points: Sequence[tuple[int, TrackPoint]],
    *,
    video: VideoFile,
    duration_s: float,
    step_s: float,
    config: RetailConfig,
    receipts: Sequence[Receipt] = (),
) -> RetailAnalysis:
    """Roles, episodes, receipt join and metrics from tracked points (``(track_id, point)``, ``step_s`` apart)."""
    zones = config.zones_for(video.camera)
    trajectories = build_trajectories(points, zones)
    roles = assign_roles(trajectories, step_s=step_s, options=config.roles, has_counter=zones.has("counter"))
    episodes = find_episodes(trajectories, roles.sellers, roles.customers, step_s=step_s, options=config.interactions)
    joined = join_receipts(
        receipts,
        trajectories,
        roles.customers,
        video_start=video.started_at,
        duration_s=duration_s,
        options=config.purchases,
    )
    scored = score_episodes(episodes, joined)
    metrics = compute_metrics(
        video_start=video.started_at, trajectories=trajectories, roles=roles, episodes=scored, joined=joined
    )
    return RetailAnalysis(video, duration_s, step_s, trajectories, roles, tuple(scored), tuple(joined), tuple(metrics))


def warehouse_rows(
    analysis: RetailAnalysis, *, config_hash: str, analysis_fps: float, processed_at: datetime | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Rows for the ``runs``, ``tracks``, ``interactions`` and ``metrics`` tables, all keyed by the run id."""
    from datetime import timedelta

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
            "seller_id": seller_name(s.episode.seller_track),
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
    return {"runs": runs, "tracks": tracks, "interactions": interactions, "metrics": metrics}


def write_analysis(warehouse: Warehouse, analysis: RetailAnalysis, *, config: RetailConfig) -> dict[str, int]:
    """Replace the run's rows in every table (validation happens before any delete)."""
    fps = config.analysis_fps if config.stride is None and config.analysis_fps else 1.0 / analysis.step_s
    rows = warehouse_rows(analysis, config_hash=config.analysis_hash(), analysis_fps=fps)
    key = {"run_id": analysis.video.run_id}
    # the runs row last: a run row marks a finished write
    return {
        table: warehouse.replace(table, rows[table], key=key) for table in ("tracks", "interactions", "metrics", "runs")
    }


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


def _step_s(indices: Sequence[int], fps: float | None, fallback: float) -> float:
    if fps and len(indices) > 1:
        return float(statistics.median(b - a for a, b in itertools.pairwise(indices))) / fps
    return fallback


def process_video(
    video: VideoFile,
    *,
    config: RetailConfig,
    receipts: Sequence[Receipt] = (),
    detector: Any = None,
) -> RetailAnalysis:
    """Track people in ``video`` at the analysis rate and analyse the tracks (nothing written)."""
    from sightings.vision.pipeline import accepts_option, create_detector, create_tracker, track_video

    if detector is None:
        opts = dict(config.detector_options)
        tiled = config.tiles.strip().lower() not in ("", "none", "off", "no")
        if tiled and "tile" not in opts and accepts_option(config.detector, "tile"):
            opts["tile"] = config.tiles
        detector = create_detector(config.detector, options=opts, classes=PERSON_LABELS, threshold=config.threshold)
    fps, stride = config.sampling
    result = track_video(
        video.path,
        detector=detector,
        tracker=create_tracker(config.tracker, options=config.tracker_options),
        fps=fps,
        stride=stride,
        classes=PERSON_LABELS,
        interpolate_gap_s=config.interpolate_s,
    )
    media_fps = result.media.fps if result.media else None
    duration = (result.media.duration_s if result.media else None) or 0.0
    step = _step_s(result.frame_indices, media_fps, 1.0 / fps if fps else float(stride or 1))
    points = [(r.track_id, TrackPoint(r.t_s, r.x1, r.y1, r.x2, r.y2, r.frame, r.score)) for r in result.rows]
    return analyse_points(points, video=video, duration_s=duration, step_s=step, config=config, receipts=receipts)


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


@dataclass(frozen=True, slots=True)
class FolderPlan:
    """What a folder run will process, checked before any warehouse is opened (bad input fails early)."""

    store: str
    videos: tuple[VideoFile, ...]
    skipped: tuple[SkippedFile, ...]
    receipts: tuple[Receipt, ...] = ()
    receipts_source: str | None = None


@dataclass(frozen=True, slots=True)
class RunFolderResult:
    videos: tuple[dict[str, Any], ...]
    skipped: tuple[SkippedFile, ...]
    receipts: int = 0
    failed: tuple[tuple[str, str], ...] = field(default=())


def plan_folder(folder: Path, *, store: str, day: date | None, receipts_path: Path | None = None) -> FolderPlan:
    """The recordings of ``store`` (and ``day``) under ``folder`` and the parsed receipts; InputError on bad input."""
    scan = scan_folder(folder, store=store, day=day)
    if receipts_path is None:
        return FolderPlan(store, scan.videos, scan.skipped)
    receipts = read_receipts(receipts_path)
    return FolderPlan(store, scan.videos, scan.skipped, tuple(receipts), str(receipts_path.resolve()))


def run_plan(plan: FolderPlan, *, config: RetailConfig, warehouse: Warehouse) -> RunFolderResult:
    """Process every planned video; each video's rows replace its old ones.

    An unreadable video (``MediaError`` & co) is recorded in ``failed`` and the others still run; re-running the
    same command redoes it and replaces the rest (nothing doubles).
    """
    from sightings.core.errors import InputError

    n_receipts = 0
    if plan.receipts_source is not None:
        n_receipts = write_receipts(warehouse, plan.receipts, source=plan.receipts_source, store=plan.store)
    done: list[dict[str, Any]] = []
    failed: list[tuple[str, str]] = []
    for video in plan.videos:
        try:
            analysis = process_video(video, config=config, receipts=plan.receipts)
        except InputError as exc:  # this file only
            failed.append((str(video.path), str(exc)))
            continue
        write_analysis(warehouse, analysis, config=config)
        done.append(analysis.summary())
    return RunFolderResult(tuple(done), plan.skipped, n_receipts, tuple(failed))


def run_folder(
    folder: Path,
    *,
    store: str,
    day: date | None,
    config: RetailConfig,
    warehouse: Warehouse,
    receipts_path: Path | None = None,
) -> RunFolderResult:
    """:func:`plan_folder` then :func:`run_plan`."""
    plan = plan_folder(folder, store=store, day=day, receipts_path=receipts_path)
    return run_plan(plan, config=config, warehouse=warehouse)


def read_report(warehouse: Warehouse, *, day: date, store: str | None = None) -> dict[str, Any]:
    """Day totals per seller (and '' = store) from the warehouse ``metrics`` table, with derived ratios."""
    from sightings.analytics.warehouse_base import sql_literal

    where = f"toDate(hour) = {sql_literal(day)}"
    if store is not None:
        where += f" AND store = {sql_literal(store)}"
    db = getattr(warehouse, "database", "sightings")
    rows = warehouse.query(
        f"SELECT seller_id, name, sum(value) AS value FROM {db}.metrics WHERE {where} GROUP BY seller_id, name"
    )
    runs = warehouse.query(
        f"SELECT count() AS n FROM {db}.runs WHERE toDate(started_at) = {sql_literal(day)}"
        + (f" AND store = {sql_literal(store)}" if store is not None else "")
    )
    summary = summarise(rows)
    return {
        "day": day.isoformat(),
        "store": store,
        "runs": int(runs[0]["n"]) if runs else 0,
        "store_totals": summary.get("", {}),
        "sellers": {k: v for k, v in summary.items() if k},
    }
