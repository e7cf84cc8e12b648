"""A folder (or a downloaded archive day) of one store's recordings → the warehouse, resumably.

    plan = plan_folder(Path("videos/"), store="shop12", day=date(2026, 3, 1), receipts_path=Path("receipts.csv"),
                       schedule="shifts.csv")            # all input checked here, before the warehouse opens
    with open_warehouse(config) as wh:
        result = run_plan(plan, config=config, warehouse=wh)

For each video, in camera/start order:

1. **Resume**: its SHA-256 is compared with the ``runs`` row of its run id; the same file already finished with the
   same analysis config, receipts and schedule (``runs.content_hash`` and ``config_hash``:
   :func:`~sightings.solutions.retail.pipeline.inputs_hash`) is skipped (``resumed``), unless ``force``. The
   receipts are the store's in the warehouse for the video's time (this run's file and every earlier one, each
   receipt once), so receipts given at closing time make the day's videos be joined again.
   A run row is written last, so a video interrupted mid-write is never taken as finished.
2. Track and analyse it (:func:`~sightings.solutions.retail.pipeline.process_video`); a file that cannot be
   decoded is listed under ``failed`` and the others go on.
3. Gaps: inside the file (timestamp jumps) and before it (the previous file of the camera ended > ``min_gap_s``
   earlier); health and drift alerts (:mod:`~sightings.solutions.retail.health`) against the camera's baseline.
4. Replace its rows in every table.

Then, for a run of one ``day`` with ``health.opening_hours`` set: every expected camera's opening hours with no
recording (before its first file, after its last, or all day) → ``not_recorded`` gaps and ``camera_off`` alerts
under the camera's day-level run id (:mod:`~sightings.solutions.retail.hours`), replaced by every run of the day.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sightings.core.errors import InputError, SightingsError
from sightings.core.protocols import Warehouse
from sightings.solutions.retail.config import RetailConfig
from sightings.solutions.retail.gaps import RecordingGap, gaps_between_files
from sightings.solutions.retail.health import Alert, camera_alerts, gap_alerts
from sightings.solutions.retail.hours import coverage_run_id, opening_window, parse_time_zone, uncovered
from sightings.solutions.retail.inputs import SkippedFile, VideoFile, scan_folder
from sightings.solutions.retail.pipeline import (
    inputs_hash,
    process_video,
    stored_receipts,
    write_analysis,
    write_coverage,
    write_receipts,
)
from sightings.solutions.retail.purchases import Receipt, read_receipts
from sightings.solutions.retail.schedule import Shift, read_schedule

__all__ = ["FolderPlan", "RunFolderResult", "content_hash", "finished_runs", "plan_folder", "run_folder", "run_plan"]

_CHUNK = 4 << 20


@dataclass(frozen=True, slots=True)
class FolderPlan:
    """What a folder run will process, checked before any warehouse is opened (bad input fails early)."""

    store: str
    videos: tuple[VideoFile, ...]
    skipped: tuple[SkippedFile, ...]
    receipts: tuple[Receipt, ...] = ()
    receipts_source: str | None = None
    shifts: tuple[Shift, ...] | None = None
    """None = no schedule"""
    day: date | None = None
    """the day asked for (None = every day found: no opening-hours check)"""
    cameras: tuple[str, ...] | None = None
    """the cameras expected to record that day (None = every camera in the config, and any with files)"""


@dataclass(frozen=True, slots=True)
class RunFolderResult:
    videos: tuple[dict[str, Any], ...]
    skipped: tuple[SkippedFile, ...]
    receipts: int = 0
    failed: tuple[tuple[str, str], ...] = field(default=())
    resumed: tuple[str, ...] = ()
    """videos skipped because the same file already finished with the same config"""
    gaps: tuple[RecordingGap, ...] = ()
    alerts: int = 0
    notes: tuple[str, ...] = ()
    """things the user may want to check (e.g. files in another time zone than the opening hours)"""


def plan_folder(
    folder: Path,
    *,
    store: str,
    day: date | None,
    receipts_path: Path | None = None,
    schedule: str | Path | None = None,
    cameras: tuple[str, ...] | None = None,
) -> FolderPlan:
    """The recordings of ``store`` (and ``day``) under ``folder``, the parsed receipts and shift schedule;
    ``cameras``: those expected to record (an archive download names one), else the config's and any with files."""
    scan = scan_folder(folder, store=store, day=day)
    receipts: tuple[Receipt, ...] = ()
    source = None
    if receipts_path is not None:
        receipts = tuple(read_receipts(receipts_path))
        source = str(receipts_path.resolve())
    shifts = tuple(read_schedule(schedule)) if schedule is not None else None
    return FolderPlan(store, scan.videos, scan.skipped, receipts, source, shifts, day, cameras)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def finished_runs(warehouse: Warehouse) -> dict[str, tuple[str, str]]:
    """run id → (content_hash, config_hash) of every finished run in the warehouse."""
    rows = warehouse.query("SELECT * FROM runs")
    return {
        str(r["run_id"]): (str(r.get("content_hash") or ""), str(r["config_hash"]))
        for r in rows
        if r.get("status") == "complete"
    }


def _duration_s(video: VideoFile) -> float | None:
    from sightings.media.probe import probe

    try:
        return probe(video.path).duration_s
    except SightingsError:
        return None  # undecodable: reported when processed


def run_plan(
    plan: FolderPlan,
    *,
    config: RetailConfig,
    warehouse: Warehouse,
    force: bool = False,
    update_baseline: bool = False,
    detector: Any = None,
) -> RunFolderResult:
    """Process the planned videos (see the module doc); each video's rows replace its old ones.

    The detector and the ``link_embedder`` are loaded once, before anything is written: a model the models
    directory does not hold fails here, and so do bad tracker options (a tracker is built once to check them)."""
    from sightings.solutions.retail.pipeline import load_models
    from sightings.vision.pipeline import create_tracker

    detector, link_embedder = load_models(config, detector=detector)
    create_tracker(config.tracker, options=config.tracker_options)  # each video gets its own; this one checks
    n_receipts = 0
    if plan.receipts_source is not None:
        n_receipts = write_receipts(warehouse, plan.receipts, source=plan.receipts_source, store=plan.store)
    durations = [_duration_s(v) for v in plan.videos]
    between = gaps_between_files(plan.videos, durations, min_gap_s=config.gaps.min_gap_s)
    finished = {} if force else finished_runs(warehouse)
    cfg_hash = config.analysis_hash()
    done: list[dict[str, Any]] = []
    failed: list[tuple[str, str]] = []
    resumed: list[str] = []
    all_gaps: list[RecordingGap] = []
    n_alerts = 0
    margin = timedelta(seconds=max(config.purchases.window_before_s, config.purchases.window_after_s))
    had_receipts = False
    for video, duration in zip(plan.videos, durations, strict=True):
        digest = content_hash(video.path)
        # every receipt the store has for this video's time, from this run's file and earlier ones, each once
        end = video.started_at + timedelta(seconds=duration if duration is not None else 86400.0)
        receipts = stored_receipts(warehouse, plan.store, video.started_at - margin, end + margin)
        had_receipts = had_receipts or bool(receipts)
        run_hash = inputs_hash(cfg_hash, receipts, plan.shifts)
        if finished.get(video.run_id) == (digest, run_hash):
            resumed.append(str(video.path))
            continue
        try:
            analysis = process_video(
                video,
                config=config,
                receipts=receipts,
                shifts=plan.shifts,
                content_hash=digest,
                detector=detector,
                link_embedder=link_embedder,
            )
        except InputError as exc:  # this file only (MediaError: corrupt, truncated, not a video)
            failed.append((str(video.path), str(exc)))
            continue
        before = [g for g in between if g.run_id == video.run_id]
        gaps = [*analysis.gap_rows(), *before]
        alerts = camera_alerts(
            video,
            analysis.frame_stats,
            step_s=analysis.step_s,
            gaps=gaps,
            options=config.health,
            update_baseline=update_baseline,
        )
        write_analysis(warehouse, analysis, config=config, alerts=alerts, between_gaps=before, run_hash=run_hash)
        all_gaps.extend(gaps)
        n_alerts += len(alerts)
        done.append({**analysis.summary(), "gaps": len(gaps), "alerts": len(alerts)})  # gaps: in it and before it
    broken = {path for path, _ in failed}  # a file that could not be analysed covers nothing
    covered = [None if str(v.path) in broken else d for v, d in zip(plan.videos, durations, strict=True)]
    coverage, notes = _coverage(plan, config, covered, warehouse)
    notes = (*notes, *_shared_checkout_notes(plan, config, any_receipts=had_receipts))
    for gaps, alerts in coverage:
        all_gaps.extend(gaps)
        n_alerts += len(alerts)
    return RunFolderResult(
        tuple(done), plan.skipped, n_receipts, tuple(failed), tuple(resumed), tuple(all_gaps), n_alerts, notes
    )


def _shared_checkout_notes(plan: FolderPlan, config: RetailConfig, *, any_receipts: bool) -> tuple[str, ...]:
    """A note when two or more of the plan's cameras have a checkout zone and no ``registers``: each of them joins
    every receipt, so the store's purchases and revenue count such a receipt once per camera."""
    shared = sorted(
        c
        for c in {v.camera for v in plan.videos}
        if config.zones_for(c).has("checkout") and not config.zones_for(c).registers
    )
    if len(shared) < 2 or not any_receipts:
        return ()
    return (
        f"cameras {', '.join(shared)} all have a checkout zone and no registers: each joins every receipt, so the "
        "store's purchases and revenue count a receipt once per camera; give each camera its registers "
        "(cameras.<id>.registers in the config)",
    )


def _coverage(
    plan: FolderPlan, config: RetailConfig, durations: list[float | None], warehouse: Warehouse
) -> tuple[list[tuple[list[RecordingGap], list[Alert]]], tuple[str, ...]]:
    """Write each expected camera's opening hours without a recording (``not_recorded`` gaps + ``camera_off``
    alerts; an empty list deletes old ones), for a one-day plan with opening hours: per camera, its gaps and
    alerts; and a note when the files' own time zone is not the store's (the day of a file is its own zone's)."""
    hours = config.health.opening_hours
    if plan.day is None or hours is None:
        return [], ()
    window = opening_window(plan.day, hours, parse_time_zone(config.archive.time_zone))
    offset = window[0].utcoffset()
    others = sorted({str(v.started_at.utcoffset()) for v in plan.videos if v.started_at.utcoffset() != offset})
    notes: tuple[str, ...] = ()
    if others:
        notes = (
            f"opening hours {hours} are read in archive.time_zone {config.archive.time_zone} (UTC offset {offset}), "
            f"but files are in UTC offset {', '.join(others)}: set archive.time_zone to the store's time zone",
        )
    expected = plan.cameras
    if expected is None:
        expected = tuple(sorted(set(config.cameras) | {v.camera for v in plan.videos}))
    found = uncovered(
        plan.videos,
        durations,
        store=plan.store,
        cameras=expected,
        day=plan.day,
        window=window,
        min_gap_s=config.gaps.min_gap_s,
    )
    out = []
    for camera, gaps in found.items():
        alerts = gap_alerts(gaps, config.health)
        run_id = coverage_run_id(plan.store, camera, plan.day)
        write_coverage(warehouse, run_id=run_id, store=plan.store, camera=camera, gaps=gaps, alerts=alerts)
        out.append((gaps, alerts))
    return out, notes


def run_folder(
    folder: Path,
    *,
    store: str,
    day: date | None,
    config: RetailConfig,
    warehouse: Warehouse,
    receipts_path: Path | None = None,
    force: bool = False,
) -> RunFolderResult:
    """:func:`plan_folder` then :func:`run_plan`."""
    plan = plan_folder(folder, store=store, day=day, receipts_path=receipts_path, schedule=config.schedule)
    return run_plan(plan, config=config, warehouse=warehouse, force=force)
