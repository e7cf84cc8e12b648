"""The ``retail`` batch job (registered in sightings.core.registry.JOBS as a lazy "module:attr" string).

    sightings batch run --list videos.csv --job retail --config retail.yaml --out out/ --workers 1

Options are :class:`~sightings.solutions.retail.config.RetailConfig`. Store, camera and start time come from the
list's metadata columns ``store``, ``camera``, ``started_at`` (ISO 8601 with a time zone) when all three are
given, else from the file name (``docs/retail.md``). Each video writes ``retail.json`` (its summary) into its run
folder and replaces its rows in the configured warehouse, with its health and drift alerts (against the camera's
baseline in ``health.baseline_dir``, as ``retail run`` does; the first item of a camera to finish writes it).
chDB allows one process per folder: with ``--workers`` > 1 use a ClickHouse server (``warehouse: {kind:
clickhouse, url: ...}``).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sightings.core.errors import InputError
from sightings.core.protocols import BatchItem, JobResult
from sightings.solutions.retail.config import RetailConfig, config_from_mapping
from sightings.solutions.retail.inputs import VideoFile, read_video_file

__all__ = ["RetailJob"]


def _video_of(item: BatchItem, path: Path) -> VideoFile:
    meta = item.metadata
    if all(meta.get(k) for k in ("store", "camera", "started_at")):
        try:
            started = datetime.fromisoformat(meta["started_at"])
        except ValueError:
            raise InputError(f"started_at {meta['started_at']!r} is not ISO 8601", where=item.source) from None
        if started.tzinfo is None:
            raise InputError("started_at has no time zone (add +03:00 or Z)", where=item.source)
        return VideoFile(path, meta["store"], meta["camera"], started)
    return read_video_file(Path(item.source))  # the listed name (a URL's last part), sidecar beside it


class RetailJob:
    """Track people in one video, find sellers and interactions, write the warehouse rows."""

    name = "retail"
    version = "1"

    def __init__(self, **options: Any) -> None:
        self.options: RetailConfig = config_from_mapping(dict(options), where="job retail")
        self._models: tuple[Any, Any] | None = None  # detector, link embedder: loaded at the first video

    def _loaded_models(self) -> tuple[Any, Any]:
        if self._models is None:
            from sightings.solutions.retail.pipeline import load_models

            self._models = load_models(self.options)
        return self._models

    def config(self) -> dict[str, Any]:
        return self.options.analysis_settings()  # the retail run's resume key too (no archive token in it)

    def run(self, item: BatchItem, out_dir: Path, *, attempt: int = 1) -> JobResult:
        from sightings.runner.jobs import local_source
        from sightings.solutions.retail.pipeline import open_warehouse, process_video, write_analysis
        from sightings.solutions.retail.schedule import read_schedule

        shifts = read_schedule(self.options.schedule) if self.options.schedule else None
        detector, link_embedder = self._loaded_models()
        with local_source(item) as path:
            video = _video_of(item, path)
            video = VideoFile(path, video.store, video.camera, video.started_at)
            analysis = process_video(
                video, config=self.options, shifts=shifts, detector=detector, link_embedder=link_embedder
            )
        from sightings.solutions.retail.health import camera_alerts

        # drift against the camera's baseline; of parallel items of one camera exactly one writes it
        alerts = camera_alerts(
            analysis.video,
            analysis.frame_stats,
            step_s=analysis.step_s,
            gaps=analysis.gap_rows(),
            options=self.options.health,
        )
        with open_warehouse(self.options) as wh:
            write_analysis(wh, analysis, config=self.options, alerts=alerts)
        summary = {**analysis.summary(), "alerts": [f"{a.kind}:{a.severity}" for a in alerts]}
        (out_dir / "retail.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        return JobResult(
            empty=not analysis.trajectories,
            steps={"track": True, "roles": bool(analysis.roles.sellers), "warehouse": True},
            summary={k: summary[k] for k in ("tracks", "customers", "interactions")},
        )
