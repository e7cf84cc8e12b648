"""The batch's record: ``state.jsonl`` (one line per attempt, appended and fsync'd), ``progress.json``
(rewritten atomically) and the summary ``sightings batch status`` prints.

A state line: ``video`` (``platform_id/video_id``), ``platform_id``, ``video_id``, ``job``, ``config_hash``,
``source``, ``status`` (see :data:`STATUSES`), ``attempt`` (1-based, counted over every batch run on the folder),
``error`` (``{"kind", "message"}`` or null), ``started_at``/``ended_at`` (UTC ISO), ``seconds``,
``peak_rss_mb``, ``steps`` (component → ok), ``worker``, and ``note`` for lines the runner adds on resume.
A line torn by ``kill -9`` is ignored when read. Each video counts once, by its latest line.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sightings.core.atomic import atomic_write_text

__all__ = [
    "FINAL_STATUSES",
    "STATUSES",
    "BatchSummary",
    "StateLog",
    "latest_by_video",
    "read_progress",
    "read_state",
    "summarise",
    "utc_now",
    "write_progress",
]

STATE_NAME = "state.jsonl"
PROGRESS_NAME = "progress.json"
STATUSES = ("done", "empty", "skipped", "failed", "timeout", "retrying")
"""done/empty: complete run (empty = nothing found); skipped: permanent input error (corrupt video, unsupported
codec), not retried; failed/timeout: gave up after the retries; retrying: a transient error, another attempt follows"""
FINAL_STATUSES = frozenset({"done", "empty", "skipped", "failed", "timeout"})
FAIL_WARN_RATIO = 0.10


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StateLog:
    """Appends JSON lines to ``state.jsonl``; each line is flushed and fsync'd before ``append`` returns."""

    def __init__(self, out: Path) -> None:
        self.path = out / STATE_NAME
        torn_end = False
        if self.path.is_file() and self.path.stat().st_size:
            with self.path.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                torn_end = fh.read(1) != b"\n"
        self._fh = self.path.open("a", encoding="utf-8")
        if torn_end:  # a line cut by a kill: end it, so the next line stays whole
            self._fh.write("\n")

    def append(self, line: Mapping[str, Any]) -> None:
        self._fh.write(json.dumps(line, ensure_ascii=False, default=str, separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def read_state(out: Path) -> tuple[list[dict[str, Any]], int]:
    """The lines of ``<out>/state.jsonl`` and how many were unreadable (torn by a kill)."""
    path = out / STATE_NAME
    if not path.is_file():
        return [], 0
    lines: list[dict[str, Any]] = []
    torn = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError:
                torn += 1
                continue
            if isinstance(row, dict) and "video" in row and "status" in row:
                lines.append(row)
            else:
                torn += 1
    return lines, torn


def latest_by_video(
    lines: Iterable[Mapping[str, Any]], *, job: str | None = None, config_hash: str | None = None
) -> dict[str, Mapping[str, Any]]:
    """``video → its latest line`` (optionally only lines of one job / config hash)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for row in lines:
        if job is not None and row.get("job") != job:
            continue
        if config_hash is not None and row.get("config_hash") != config_hash:
            continue
        latest[str(row["video"])] = row
    return latest


def write_progress(out: Path, progress: Mapping[str, Any]) -> None:
    atomic_write_text(out / PROGRESS_NAME, json.dumps(progress, indent=2, ensure_ascii=False, default=str) + "\n")


def read_progress(out: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out / PROGRESS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, math.ceil(q * len(ordered)) - 1)
    return ordered[rank]


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Counts by latest status, time per video, step success rates and warnings."""

    job: str | None
    config_hash: str | None
    total: int
    counts: dict[str, int]
    mean_s: float | None
    p95_s: float | None
    step_success: dict[str, float]
    attempts: int
    oom_attempts: int
    warnings: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    """videos whose latest state is skipped, failed or timeout: video, status, source, error kind and message"""

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0) + self.counts.get("timeout", 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "config_hash": self.config_hash,
            "total": self.total,
            "counts": self.counts,
            "mean_s": self.mean_s,
            "p95_s": self.p95_s,
            "step_success": self.step_success,
            "attempts": self.attempts,
            "oom_attempts": self.oom_attempts,
            "warnings": self.warnings,
            "problems": self.problems,
        }

    def one_line(self) -> str:
        c = self.counts
        timing = f", {self.mean_s:.2f} s/video (p95 {self.p95_s:.2f} s)" if self.mean_s is not None else ""
        return (
            f"{self.total} videos: {c.get('done', 0)} done, {c.get('empty', 0)} empty, {c.get('skipped', 0)} skipped, "
            f"{self.failed} failed, {c.get('pending', 0)} pending{timing}"
        )


def summarise(
    lines: list[dict[str, Any]],
    *,
    job: str | None,
    config_hash: str | None,
    total: int | None = None,
    torn: int = 0,
) -> BatchSummary:
    """The status of the batch ``(job, config_hash)``; ``total`` (the list length) adds never-tried videos."""
    mine = [r for r in lines if (job is None or r.get("job") == job)]
    mine = [r for r in mine if (config_hash is None or r.get("config_hash") == config_hash)]
    latest = latest_by_video(mine)
    counts = dict.fromkeys(("done", "empty", "skipped", "failed", "timeout", "pending"), 0)
    for row in latest.values():
        status = str(row["status"])
        counts["pending" if status not in FINAL_STATUSES else status] += 1
    n = max(total or 0, len(latest))
    counts["pending"] += n - len(latest)
    times = [
        float(r["seconds"])
        for r in latest.values()
        if r["status"] in ("done", "empty") and r.get("seconds") is not None and not r.get("note")
    ]
    steps: dict[str, list[bool]] = {}
    for row in latest.values():
        for name, ok in (row.get("steps") or {}).items():
            steps.setdefault(str(name), []).append(bool(ok))
    oom = sum(1 for r in mine if (r.get("error") or {}).get("kind") == "oom")
    warnings = []
    failed = counts["failed"] + counts["timeout"]
    tried = len(latest)
    if tried and failed / tried > FAIL_WARN_RATIO:
        warnings.append(f"{failed} of {tried} videos failed ({failed / tried:.0%} > {FAIL_WARN_RATIO:.0%})")
    if oom:
        warnings.append(f"{oom} attempt(s) ran out of memory: fewer workers or smaller inputs may help")
    if torn:
        warnings.append(f"{torn} torn line(s) in state.jsonl (an interrupted write; ignored)")
    return BatchSummary(
        job=job,
        config_hash=config_hash,
        total=n,
        counts=counts,
        mean_s=round(sum(times) / len(times), 4) if times else None,
        p95_s=round(_percentile(times, 0.95), 4) if times else None,
        step_success={k: round(sum(v) / len(v), 4) for k, v in sorted(steps.items())},
        attempts=len(mine),
        oom_attempts=oom,
        warnings=warnings,
        problems=[
            {
                "video": video,
                "status": row["status"],
                "source": row.get("source"),
                "kind": (row.get("error") or {}).get("kind"),
                "message": (row.get("error") or {}).get("message"),
            }
            for video, row in sorted(latest.items())
            if row["status"] in ("skipped", "failed", "timeout")
        ],
    )
