"""The ``content`` batch job (registered in sightings.core.registry.JOBS as a lazy "module:attr" string).

    sightings batch run --list videos.csv --job content --config content.yaml --out out/

The options are :class:`~sightings.solutions.content.context.ContentOptions`. Each video's content run folder
(manifest.json + one NPZ per module + frames/) is
``<batch out>/runs/content/<platform>/<video>/<config hash>/content/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sightings.core.errors import ConfigError
from sightings.core.protocols import BatchItem, JobResult
from sightings.runner.jobs import local_source
from sightings.solutions.content.context import ContentOptions

__all__ = ["ContentJob"]


class ContentJob:
    """Run every (or the chosen) content module on one video."""

    name = "content"
    version = "1"

    def __init__(self, **options: Any) -> None:
        try:
            self.options = ContentOptions(**options)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(err["msg"], where=f"job content: {'.'.join(str(p) for p in err['loc'])}") from None
        if self.options.modules:
            from sightings.solutions.content.spec import get_module

            for name in self.options.modules:
                get_module(name)

    def config(self) -> dict[str, Any]:
        from sightings.solutions.content.spec import get_module, module_names

        names = self.options.modules or module_names()
        return {"options": self.options.hashed(), "modules": {n: get_module(n).version for n in names}}

    def run(self, item: BatchItem, out_dir: Path, *, attempt: int = 1) -> JobResult:
        from sightings.solutions.content.pipeline import run_content

        with local_source(item) as path:
            result = run_content(
                path,
                platform_id=item.platform_id,
                video_id=item.video_id,
                options=self.options,
                run_dir=out_dir / "content",
                run_id="run",
            )
        statuses = result.statuses
        return JobResult(
            empty=result.manifest["n_shots"] == 0,
            steps={name: status == "ok" for name, status in statuses.items() if status != "skipped"},
            summary={
                "shots": result.manifest["n_shots"],
                "x_real_time": result.manifest["x_real_time"],
                "failed": sorted(n for n, s in statuses.items() if s == "failed"),
            },
        )
