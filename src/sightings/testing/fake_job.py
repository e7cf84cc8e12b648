"""The ``fake`` batch job: probes the video (so corrupt files fail as in real jobs), sleeps, and injects faults.

Faults are chosen per ``video_id`` in the job's options (a YAML/JSON config in tests), and depend on the attempt
number the runner passes, so they behave the same in any worker, in any process, after any resume:

    sleep_s: 0.01                  # every video
    sleep_by_id: {v7: 30}          # a slow (or hung) video
    transient: {v3: 2}             # attempts 1 and 2 raise ConnectionResetError, the 3rd succeeds
    oom: {v4: 1}                   # attempt 1 raises MemoryError
    crash: {v5: 1}                 # attempt 1 kills its own worker process (os._exit)
    permanent: [v6]                # raises MediaError (skipped, not retried)
    error: [v8]                    # raises RuntimeError (a bug: retried, then failed)
    empty: [v9]                    # succeeds with nothing found
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sightings.core.errors import ConfigError, MediaError
from sightings.core.protocols import BatchItem, JobResult

__all__ = ["FakeJob", "FakeJobOptions"]


class FakeJobOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    probe: bool = Field(True, description="probe the video first (MediaError for a corrupt file)")
    sleep_s: float = Field(0.0, ge=0, description="seconds each video takes")
    sleep_by_id: dict[str, float] = Field(default_factory=dict, description="video_id → seconds (slow or hung)")
    transient: dict[str, int] = Field(default_factory=dict, description="video_id → attempts failing (network)")
    oom: dict[str, int] = Field(default_factory=dict, description="video_id → attempts that raise MemoryError")
    crash: dict[str, int] = Field(default_factory=dict, description="video_id → attempts that kill the worker")
    permanent: list[str] = Field(default_factory=list, description="video_ids that raise MediaError")
    error: list[str] = Field(default_factory=list, description="video_ids that raise RuntimeError")
    empty: list[str] = Field(default_factory=list, description="video_ids that find nothing")


class FakeJob:
    """Scripted batch job for tests (see the module docs)."""

    name = "fake"
    version = "1"

    def __init__(self, **options: Any) -> None:
        try:
            self.options = FakeJobOptions(**options)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(err["msg"], where=f"job fake: {'.'.join(str(p) for p in err['loc'])}") from None

    def config(self) -> dict[str, Any]:
        return self.options.model_dump(mode="json")

    def run(self, item: BatchItem, out_dir: Path, *, attempt: int = 1) -> JobResult:
        o = self.options
        vid = item.video_id
        info: dict[str, Any] = {}
        if o.probe:
            from sightings.media.probe import probe

            info = probe(item.source).to_dict()
        if vid in o.permanent:
            raise MediaError("injected permanent fault", where=item.source)
        if attempt <= o.crash.get(vid, 0):
            os._exit(70)
        if attempt <= o.oom.get(vid, 0):
            raise MemoryError("injected out-of-memory")
        if attempt <= o.transient.get(vid, 0):
            raise ConnectionResetError(f"injected network fault (attempt {attempt})")
        if vid in o.error:
            raise RuntimeError("injected bug")
        time.sleep(o.sleep_by_id.get(vid, o.sleep_s))
        result = {"video_id": vid, "platform_id": item.platform_id, "frames": info.get("frame_count")}
        (out_dir / "result.json").write_text(json.dumps(result, sort_keys=True) + "\n", encoding="utf-8")
        return JobResult(empty=vid in o.empty, steps={"probe": o.probe, "work": True}, summary=result)
