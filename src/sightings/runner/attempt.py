"""One attempt at one video, as run inside a worker (a local process, a Ray task, or inline).

:func:`run_attempt` builds the job (once per process), runs it into the run's ``.partial`` folder, publishes the
folder with its manifest, and returns an :class:`AttemptReport`; it never raises for a job's failure — the
exception is classified here (see :func:`classify_error`) so every executor reports the same way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import socket
import time
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sightings.core.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    InputError,
    MediaError,
    NotFoundError,
    UnsupportedMediaError,
)
from sightings.core.protocols import BatchItem, BatchJob
from sightings.runner.manifest import RunKey, canonical_json, partial_dir, publish_run, read_manifest, run_dir
from sightings.runner.state import utc_now

__all__ = ["AttemptReport", "AttemptTask", "classify_error", "run_attempt"]

PERMANENT = "permanent"
TRANSIENT = "transient"
FATAL = "fatal"
OTHER = "other"
_NETWORK_ERRNOS = {
    "ECONNRESET",
    "ECONNREFUSED",
    "ECONNABORTED",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "ENETDOWN",
    "EPIPE",
    "EAI_AGAIN",
}


@dataclass(frozen=True, slots=True)
class AttemptTask:
    """What a worker needs for one attempt (picklable: sent to processes and Ray tasks)."""

    item: BatchItem
    key: RunKey
    job: str
    options: dict[str, Any]
    out: str
    attempt: int
    job_version: str = ""


@dataclass(frozen=True, slots=True)
class AttemptReport:
    """How one attempt ended: ``status`` is ``done``/``empty`` or ``error`` with ``category`` saying what next."""

    video: str
    status: str
    attempt: int
    started_at: str
    ended_at: str
    seconds: float
    peak_rss_mb: float | None = None
    category: str | None = None
    """for errors: permanent (skip), transient (retry), fatal (no retry: config) or other (retry, then fail)"""
    error_kind: str | None = None
    message: str | None = None
    steps: dict[str, bool] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    worker: str = ""


_BY_TYPE: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str, str], ...] = (
    (UnsupportedMediaError, "unsupported-media", PERMANENT),
    (MediaError, "corrupt-media", PERMANENT),
    (NotFoundError, "not-found", PERMANENT),
    (InputError, "bad-input", PERMANENT),
    ((ConfigError, BackendUnavailableError), "config", FATAL),
    (MemoryError, "oom", TRANSIENT),
    ((TimeoutError, socket.timeout), "timeout", TRANSIENT),
    ((ConnectionError, urllib.error.URLError, socket.gaierror), "network", TRANSIENT),
)


def classify_error(exc: BaseException) -> tuple[str, str]:
    """``(kind, category)`` of a job's exception; see the module docs of :mod:`sightings.runner.batch`."""
    for types, kind, category in _BY_TYPE:
        if isinstance(exc, types):
            return kind, category
    if isinstance(exc, OSError) and errno.errorcode.get(exc.errno or 0) in _NETWORK_ERRNOS:
        return "network", TRANSIENT
    if isinstance(exc, BackendError):
        return "backend", TRANSIENT if getattr(exc, "transient", False) else OTHER
    return "error", OTHER


def _reset_peak_rss() -> None:
    # Linux: writing 5 to clear_refs resets VmHWM, so the peak is per attempt, not per worker lifetime.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float | None:
    """This process's peak resident memory (since the last reset on Linux), MiB."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    with contextlib.suppress(ValueError, OSError):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return None


_JOBS: dict[str, BatchJob] = {}


def build_job(name: str, options: dict[str, Any]) -> BatchJob:
    """The job ``name`` with ``options``, built once per process (models load once per worker)."""
    from sightings.core.registry import JOBS

    cache_key = f"{name}\0{canonical_json(options)}"
    job = _JOBS.get(cache_key)
    if job is None:
        job = JOBS.create(name, **options)
        _JOBS[cache_key] = job
    return job


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _remove_empty_video_folder(work: Path) -> None:
    """The video's folder (``runs/<job>/<platform>/<video>``) when a failed or skipped attempt leaves it empty: a
    skipped video leaves nothing behind. Only the video's own folder: one video's attempts never run at once, while
    the folders above may be filled by other workers right now."""
    with contextlib.suppress(OSError):  # not empty: another config's run of this video is there
        work.parent.rmdir()


def run_attempt(task: AttemptTask) -> AttemptReport:
    """Run one attempt; publish the run folder on success; classify any failure."""
    started_at = utc_now()
    t0 = time.perf_counter()
    _reset_peak_rss()
    final = run_dir(Path(task.out), task.key)
    work = partial_dir(final)
    base: dict[str, Any] = {"video": task.key.video, "attempt": task.attempt, "worker": _worker_name()}
    existing = read_manifest(final)
    if existing is not None:  # finished by an earlier attempt whose report was lost
        return AttemptReport(
            status=str(existing.get("result", "done")),
            started_at=started_at,
            ended_at=utc_now(),
            seconds=float(existing.get("seconds", 0.0)),
            steps=dict(existing.get("steps", {})),
            summary=dict(existing.get("summary", {})),
            **base,
        )
    try:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        job = build_job(task.job, task.options)
        result = job.run(task.item, work, attempt=task.attempt)
        seconds = time.perf_counter() - t0
        status = "empty" if result.empty else "done"
        rss = peak_rss_mb()
        publish_run(
            work,
            final,
            {
                "run_key": task.key.to_dict(),
                "job_version": job.version,
                "config": job.config(),
                "source": task.item.source,
                "metadata": dict(task.item.metadata),
                "attempt": task.attempt,
                "started_at": started_at,
                "finished_at": utc_now(),
                "seconds": round(seconds, 4),
                "peak_rss_mb": rss,
                "result": status,
                "steps": dict(result.steps),
                "summary": dict(result.summary),
                "worker": base["worker"],
            },
        )
    except (KeyboardInterrupt, SystemExit):
        shutil.rmtree(work, ignore_errors=True)
        _remove_empty_video_folder(work)
        raise
    except BaseException as exc:
        shutil.rmtree(work, ignore_errors=True)
        _remove_empty_video_folder(work)
        kind, category = classify_error(exc)
        message = str(exc) or type(exc).__name__
        if kind == "error":
            message = f"{type(exc).__name__}: {message}"
        return AttemptReport(
            status="error",
            started_at=started_at,
            ended_at=utc_now(),
            seconds=round(time.perf_counter() - t0, 4),
            peak_rss_mb=peak_rss_mb(),
            category=category,
            error_kind=kind,
            message=message.splitlines()[0][:500] if message else kind,
            steps=dict(getattr(exc, "steps", {}) or {}),
            **base,
        )
    return AttemptReport(
        status=status,
        started_at=started_at,
        ended_at=utc_now(),
        seconds=round(seconds, 4),
        peak_rss_mb=rss,
        steps=dict(result.steps),
        summary=dict(result.summary),
        **base,
    )
