"""Run the content modules on one video and store a versioned run folder.

    run_content(video, platform_id="yt", video_id="abc", options=ContentOptions(), store=Path("result_store"))
        -> RunResult(run_dir, manifest)

Steps: one decoding pass (scan) → cut detection → shots → segmenter output (``frames/`` + metadata.json) → the
selected modules on a thread pool (``workers``) → manifest.json + one NPZ per module, all inside one atomic folder.
A module that raises is marked ``failed`` with its error; one that has nothing to work on (no audio track, no
model, no corpus) is ``skipped`` with the reason; the others finish either way. A video that cannot be decoded at
all raises MediaError (there is nothing to run modules on).
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sightings import __version__
from sightings.core.atomic import atomic_dir
from sightings.core.errors import SightingsError
from sightings.runner.run_folders import MANIFEST
from sightings.solutions.content.artifacts import MANIFEST_VERSION, config_hash, npz_bytes, run_dir_for
from sightings.solutions.content.context import ContentOptions, ModuleContext, Shot
from sightings.solutions.content.cuts import Transition, find_transitions
from sightings.solutions.content.scan import VideoScan, scan_video
from sightings.solutions.content.spec import FeatureModule, ModuleOutput, ModuleSkipped, get_module, module_names

__all__ = ["RunResult", "run_content", "shots_from"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunResult:
    run_dir: Path
    manifest: dict[str, Any]

    @property
    def statuses(self) -> dict[str, str]:
        return {k: v["status"] for k, v in self.manifest["modules"].items()}


def shots_from(scan: VideoScan, transitions: list[Transition]) -> list[Shot]:
    """Shots between transitions: a gradual transition's frames go to neither shot."""
    n = scan.n_frames
    times = scan.times_s
    step = 1.0 / scan.info.fps if scan.info.fps else 0.0
    shots: list[Shot] = []
    start = 0
    for tr in [t for t in transitions if t.frame > 0]:
        end = max(start, (tr.start - 1) if tr.kind == "gradual" else tr.frame - 1)
        shots.append(
            Shot(len(shots), start, min(end, n - 1), float(times[start]), float(times[min(end, n - 1)] + step))
        )
        start = min(n - 1, tr.end + 1 if tr.kind == "gradual" else tr.frame)
    shots.append(Shot(len(shots), start, n - 1, float(times[start]), float(times[-1] + step)))
    return shots


def _segmenter_files(scan: VideoScan, shots: list[Shot], folder: Path) -> None:
    """frames/frame_NNNNNN.jpg for every analysis frame + metadata.json (fps, indices, times, reasons)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for f in scan.frames:
        name = f"frame_{f.index:06d}.jpg"
        Image.fromarray(f.image).save(folder / name, quality=90)
        shot = next((s.index for s in shots if s.start <= f.index <= s.end), None)
        entries.append(
            {"file": name, "index": f.index, "t_s": round(f.t_s, 6), "reasons": list(f.reasons), "shot": shot}
        )
    meta = {**scan.metadata(), "frames": entries}
    (folder / "metadata.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def _run_module(module: FeatureModule, ctx: ModuleContext) -> tuple[dict[str, Any], ModuleOutput | None]:
    started = time.perf_counter()
    entry: dict[str, Any] = {"version": module.version, "schema_version": module.schema_version, "kind": module.kind}
    output: ModuleOutput | None = None
    try:
        output = module.coerce(module.run(ctx))
        entry.update(status="ok", file=f"{module.name}.npz", keys=sorted(output))
    except ModuleSkipped as skip:
        entry.update(status="skipped", reason=str(skip))
    except ImportError as exc:  # an optional package of the `content` extra is not installed
        entry.update(status="skipped", reason=f"needs {exc.name or exc} (pip install 'sightings[content]')")
    except SightingsError as err:
        entry.update(status="failed", reason=str(err))
    except Exception as exc:  # a module bug must not take the other modules down
        log.warning("content module %s failed: %s", module.name, exc)
        entry.update(status="failed", reason=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=4))
    entry["seconds"] = round(time.perf_counter() - started, 4)
    return entry, output


def run_content(
    video: str | os.PathLike[str],
    *,
    platform_id: str,
    video_id: str,
    options: ContentOptions | None = None,
    store: str | os.PathLike[str] = "result_store",
    run_id: str | None = None,
    models_dir: Path | None = None,
    run_dir: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Analyse ``video`` and write its run folder (see the module docs).

    The folder is ``<store>/<platform_id>/<video_id>/<run_id>/``, or exactly ``run_dir`` when given (the batch
    runner gives each video its own folder already).
    """
    opts = options or ContentOptions.model_validate({})
    names = opts.modules or module_names()
    modules = [get_module(n) for n in names]
    config = {
        "modules": {m.name: {"version": m.version, "schema_version": m.schema_version} for m in modules},
        "options": opts.hashed(),
    }
    chash = config_hash(config)
    rid = run_id or f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{chash[:8]}"
    target = Path(run_dir) if run_dir is not None else run_dir_for(Path(store), platform_id, video_id, rid)
    if models_dir is None:
        if opts.models_dir:
            models_dir = Path(opts.models_dir)
        else:
            from sightings.core.config import get_settings

            models_dir = get_settings().models_path
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    scan = scan_video(video, analysis_fps=opts.analysis_fps, analysis_side=opts.analysis_side)
    timings["scan_s"] = round(time.perf_counter() - t0, 4)
    t1 = time.perf_counter()
    transitions, change = find_transitions(scan)
    shots = shots_from(scan, transitions)
    timings["cuts_s"] = round(time.perf_counter() - t1, 4)
    ctx = ModuleContext(Path(video), opts, scan, transitions, change, shots, models_dir)
    warnings = []
    if scan.decode_errors:
        warnings.append(f"{scan.decode_errors} corrupt video packets skipped")
    if scan.truncated:
        warnings.append("video data ends early (demuxing stopped); analysed what was readable")
    if scan.n_frames == 1:
        warnings.append("single-frame video: time series have one window")
    with atomic_dir(target) as tmp:
        t2 = time.perf_counter()
        if opts.write_frames:
            _segmenter_files(scan, shots, tmp / "frames")
        timings["segmenter_s"] = round(time.perf_counter() - t2, 4)
        t3 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="content") as pool:
            results = list(pool.map(lambda m: _run_module(m, ctx), modules))
        timings["modules_s"] = round(time.perf_counter() - t3, 4)
        entries: dict[str, Any] = {}
        for module, (entry, output) in zip(modules, results, strict=True):
            if output is not None:
                (tmp / entry["file"]).write_bytes(npz_bytes(output))
            entries[module.name] = entry
        timings["total_s"] = round(time.perf_counter() - t0, 4)
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "sightings_version": __version__,
            "platform_id": platform_id,
            "video_id": video_id,
            "run_id": rid,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": {"path": str(video), **scan.metadata(), "codec": scan.info.codec},
            "config": config,
            "config_hash": chash,
            "n_shots": len(shots),
            "timings": timings,
            "x_real_time": round(scan.duration_s / timings["total_s"], 2) if timings["total_s"] else None,
            "warnings": warnings,
            "modules": entries,
        }
        buf = io.StringIO()
        json.dump(manifest, buf, indent=2, ensure_ascii=False)
        (tmp / MANIFEST).write_text(buf.getvalue() + "\n", encoding="utf-8")
    return RunResult(target, manifest)
