"""Run one job over every video of a list: idempotent, resumable, retrying, in parallel.

    result = run_batch("videos.csv", "track", {"fps": 1}, Path("out"), BatchOptions(workers=2))

What happens to each video, by what its attempt raised (see :func:`~sightings.runner.attempt.classify_error`):

    succeeded                                      done (or empty: nothing found)        run folder published
    MediaError, UnsupportedMediaError, InputError,  skipped, with the reason              never retried
      NotFoundError (corrupt/truncated video, unsupported codec, missing file)
    MemoryError, TimeoutError, network OSError,     retrying → retried up to ``retries``  back-off: backoff_s × 2^(n-1)
      BackendError(transient=True), a worker that     times, then failed / timeout
      died, no result within ``timeout_s`` (killed)
    any other exception (a bug)                    retried the same way, then failed
    ConfigError, BackendUnavailableError           failed, and the batch stops scheduling (a setup problem, not
                                                   a video's): the error is raised once the running attempts end

Resume: running the same command again skips every run with a complete manifest, deletes ``.partial`` folders
left by a kill, does not retry ``skipped`` videos (``retry_skipped`` does) and tries the rest again.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sightings.core.errors import ConfigError, InputError, SightingsError
from sightings.core.protocols import BatchItem
from sightings.core.registry import EXECUTORS
from sightings.runner.attempt import FATAL, PERMANENT, AttemptReport, AttemptTask
from sightings.runner.batch_list import read_batch_list
from sightings.runner.jobs import JobSpec, resolve_job
from sightings.runner.manifest import RunKey, partial_dir, read_manifest, run_dir
from sightings.runner.state import (
    BatchSummary,
    StateLog,
    latest_by_video,
    read_state,
    summarise,
    utc_now,
    write_progress,
)
from sightings.runner.task_pool import TaskOutcome, TaskPool

__all__ = ["BatchOptions", "BatchResult", "run_batch"]

LOCK_NAME = ".batch.lock"
MAX_BACKOFF_S = 300.0
ProgressCallback = Callable[[Mapping[str, Any]], None]
"""Called with the progress (the content of progress.json, plus ``last``: the latest state line)."""


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """How the batch runs (not what it computes: that is the job's config, hashed into the run key)."""

    executor: str = "local"
    workers: int | None = None
    executor_options: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float | None = 1800.0
    retries: int = 2
    backoff_s: float = 2.0
    retry_skipped: bool = False

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ConfigError(f"retries must be >= 0, got {self.retries}", where="--retries")
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise ConfigError(f"timeout must be > 0 s, got {self.timeout_s}", where="--timeout-s")
        if self.backoff_s < 0:
            raise ConfigError(f"back-off must be >= 0 s, got {self.backoff_s}", where="--backoff-s")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}", where="--workers")


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The batch's status after this run, and what this run itself did."""

    out: Path
    job: JobSpec
    summary: BatchSummary
    seconds: float
    attempted: int
    already_complete: int
    job_seconds: float
    """sum of the job's own time over this run's attempts (wall time minus this is the runner's overhead)"""


@dataclass(slots=True)
class _InFlight:
    item: BatchItem
    key: RunKey
    attempt: int
    tries: int
    started_at: str
    started: float
    deadline: float | None


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    try:
        out.mkdir(parents=True, exist_ok=True)
        fh = (out / LOCK_NAME).open("a")
    except OSError as exc:
        raise InputError(f"cannot write the output folder: {exc.strerror or exc}", where=out) from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another batch is running on this output folder", where=out) from None
        yield
    finally:
        fh.close()


def _check_writable(out: Path) -> None:
    probe = out / f".write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write the output folder: {exc.strerror or exc}", where=out) from None


class _Batch:
    def __init__(
        self,
        *,
        items: list[BatchItem],
        spec: JobSpec,
        out: Path,
        options: BatchOptions,
        list_path: Path,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.items = items
        self.spec = spec
        self.out = out
        self.opts = options
        self.list_path = list_path
        self.on_progress = on_progress
        self.log = StateLog(out)
        self.prior_attempts: dict[str, int] = {}
        self.final: dict[str, str] = {}
        self.counts: dict[str, int] = dict.fromkeys(("done", "empty", "skipped", "failed", "timeout"), 0)
        self.started = time.monotonic()
        self.started_at = utc_now()
        self.attempted = 0
        self.already_complete = 0
        self.job_seconds = 0.0
        self.fatal: SightingsError | None = None
        self.warned_oom = False
        self.warnings: list[str] = []
        self._last_progress = 0.0

    # ---------------------------------------------------------------- bookkeeping
    def _line(self, item: BatchItem, key: RunKey, status: str, attempt: int, **extra: Any) -> dict[str, Any]:
        line = {
            "video": key.video,
            "platform_id": key.platform_id,
            "video_id": key.video_id,
            "job": key.job,
            "config_hash": key.config_hash,
            "source": item.source,
            "status": status,
            "attempt": attempt,
            "error": None,
            **extra,
        }
        self.log.append(line)
        if status in self.counts:
            self.counts[status] += 1
            self.final[key.video] = status
        if (line.get("error") or {}).get("kind") == "oom" and not self.warned_oom:
            self.warned_oom = True
            self.warnings.append(f"{key.video}: out of memory (attempt {attempt}); consider fewer --workers")
        self._progress(last=line, force=status in self.counts)
        return line

    def _progress(self, *, last: Mapping[str, Any] | None = None, force: bool = False, finished: bool = False) -> None:
        now = time.monotonic()
        if not (force or finished) and now - self._last_progress < 0.5:
            return
        self._last_progress = now
        total = len(self.items)
        ended = sum(self.counts.values())
        elapsed = now - self.started
        new = ended - self.already_complete
        rate = new / elapsed if new and elapsed > 0 else None
        eta = (total - ended) / rate if rate else None
        progress = {
            "job": self.spec.name,
            "config_hash": self.spec.config_hash,
            "list": str(self.list_path),
            "total": total,
            "ended": ended,
            "counts": dict(self.counts),
            "attempts": self.attempted,
            "already_complete": self.already_complete,
            "started_at": self.started_at,
            "updated_at": utc_now(),
            "elapsed_s": round(elapsed, 3),
            "eta_s": None if eta is None else round(eta, 1),
            "eta_at": None if eta is None else (datetime.now(UTC) + timedelta(seconds=eta)).isoformat(),
            "executor": self.opts.executor,
            "pid": os.getpid(),
            "finished": finished,
            "warnings": list(self.warnings),
        }
        write_progress(self.out, progress)
        if self.on_progress is not None:
            self.on_progress({**progress, "last": last})

    # ---------------------------------------------------------------- planning
    def plan(self) -> list[tuple[BatchItem, RunKey]]:
        lines, _ = read_state(self.out)
        mine = [r for r in lines if r.get("job") == self.spec.name and r.get("config_hash") == self.spec.config_hash]
        for row in mine:
            video = str(row["video"])
            self.prior_attempts[video] = max(self.prior_attempts.get(video, 0), int(row.get("attempt") or 0))
        latest = latest_by_video(mine)
        pending = []
        for item in self.items:
            key = RunKey.of(item, self.spec.name, self.spec.config_hash)
            final = run_dir(self.out, key)
            shutil.rmtree(partial_dir(final), ignore_errors=True)
            manifest = read_manifest(final)
            before = latest.get(key.video)
            if manifest is not None:
                self.already_complete += 1
                status = str(manifest.get("result", "done"))
                if before is None or before.get("status") not in ("done", "empty"):
                    self._line(
                        item,
                        key,
                        status,
                        int(manifest.get("attempt", 0)),
                        seconds=manifest.get("seconds"),
                        steps=manifest.get("steps", {}),
                        note="recovered from manifest (its state line was lost)",
                    )
                else:
                    self.counts[status] += 1
                    self.final[key.video] = status
                continue
            if final.exists():  # a folder without a complete manifest is never published by the runner
                shutil.rmtree(final, ignore_errors=True)
            if before is not None and before.get("status") == "skipped" and not self.opts.retry_skipped:
                self.counts["skipped"] += 1
                self.final[key.video] = "skipped"
                continue
            pending.append((item, key))
        return pending

    # ---------------------------------------------------------------- running
    def _backoff(self, tries: int) -> float:
        return min(MAX_BACKOFF_S, self.opts.backoff_s * 2.0 ** (tries - 1))

    def _ended(self, flight: _InFlight, retry: list[tuple[float, int, _InFlight]], report: AttemptReport) -> None:
        self.job_seconds += report.seconds
        common = {
            "started_at": report.started_at,
            "ended_at": report.ended_at,
            "seconds": report.seconds,
            "peak_rss_mb": report.peak_rss_mb,
            "steps": report.steps,
            "worker": report.worker,
        }
        if report.status in ("done", "empty"):
            self._line(flight.item, flight.key, report.status, flight.attempt, **common)
            return
        error = {"kind": report.error_kind, "message": report.message}
        if report.category == PERMANENT:
            self._line(flight.item, flight.key, "skipped", flight.attempt, **common, error=error)
            return
        if report.category == FATAL:
            self._line(flight.item, flight.key, "failed", flight.attempt, **common, error=error)
            if self.fatal is None:
                self.fatal = ConfigError(f"batch stopped: {report.message}", where=flight.key.video)
            return
        if flight.tries <= self.opts.retries and self.fatal is None:
            delay = self._backoff(flight.tries)
            self._line(flight.item, flight.key, "retrying", flight.attempt, **common, error=error, retry_in_s=delay)
            heapq.heappush(retry, (time.monotonic() + delay, flight.attempt, flight))
            return
        final = "timeout" if report.error_kind == "timeout" else "failed"
        self._line(flight.item, flight.key, final, flight.attempt, **common, error=error)

    def _lost(self, flight: _InFlight, why: str, kind: str) -> AttemptReport:
        shutil.rmtree(partial_dir(run_dir(self.out, flight.key)), ignore_errors=True)
        return AttemptReport(
            video=flight.key.video,
            status="error",
            attempt=flight.attempt,
            started_at=flight.started_at,
            ended_at=utc_now(),
            seconds=round(time.monotonic() - flight.started, 4),
            category="transient",
            error_kind=kind,
            message=why,
        )

    def run(self, pool: TaskPool, pending: list[tuple[BatchItem, RunKey]]) -> None:
        queue: deque[_InFlight] = deque(_InFlight(item, key, 0, 0, "", 0.0, None) for item, key in pending)
        retry: list[tuple[float, int, _InFlight]] = []
        inflight: dict[int, _InFlight] = {}
        token = 0
        timeout = self.opts.timeout_s if getattr(pool, "enforces_timeout", True) else None
        while queue or retry or inflight:
            now = time.monotonic()
            while retry and retry[0][0] <= now:
                queue.appendleft(heapq.heappop(retry)[2])
            while self.fatal is None and queue and len(inflight) < pool.capacity:
                flight = queue.popleft()
                flight.tries += 1
                flight.attempt = self.prior_attempts.get(flight.key.video, 0) + flight.tries
                flight.started_at = utc_now()
                flight.started = time.monotonic()
                flight.deadline = None if timeout is None else flight.started + timeout
                token += 1
                inflight[token] = flight
                self.attempted += 1
                pool.submit(
                    token,
                    AttemptTask(
                        flight.item,
                        flight.key,
                        self.spec.name,
                        self.spec.options,
                        str(self.out.absolute()),
                        flight.attempt,
                    ),
                )
            if self.fatal is not None:
                queue.clear()
                retry.clear()
            if not inflight:
                if retry:
                    time.sleep(max(0.0, min(retry[0][0] - time.monotonic(), 1.0)))
                    continue
                break
            wake = [f.deadline for f in inflight.values() if f.deadline is not None]
            if retry:
                wake.append(retry[0][0])
            wait_s = min([1.0, *(w - time.monotonic() for w in wake)])
            for outcome in pool.wait(max(0.005, wait_s)):
                flight = inflight.pop(outcome.token)
                self._ended(flight, retry, self._report_of(flight, outcome))
            now = time.monotonic()
            for tok, flight in list(inflight.items()):
                if flight.deadline is not None and now > flight.deadline:
                    pool.kill(tok)
                    del inflight[tok]
                    why = f"no result within {timeout:g} s; the attempt was killed"
                    self._ended(flight, retry, self._lost(flight, why, "timeout"))
            self._progress()

    def _report_of(self, flight: _InFlight, outcome: TaskOutcome) -> AttemptReport:
        if outcome.report is not None:
            return outcome.report
        return self._lost(flight, outcome.lost or "worker lost", outcome.lost_kind)

    def close(self) -> None:
        self.log.close()


def _create_executor(options: BatchOptions) -> Any:
    opts = dict(options.executor_options)
    if options.workers is not None:
        if options.executor == "inline":
            raise ConfigError("the inline executor runs one video at a time; drop --workers", where="--workers")
        opts["workers"] = options.workers
    executor = EXECUTORS.create(options.executor, **opts)
    if not hasattr(executor, "task_pool"):
        raise ConfigError(f"executor {options.executor!r} cannot run batches", where="--executor")
    return executor


def run_batch(
    list_path: str | os.PathLike[str],
    job: str,
    job_options: Mapping[str, Any] | None,
    out: str | os.PathLike[str],
    options: BatchOptions | None = None,
    *,
    on_progress: ProgressCallback | None = None,
) -> BatchResult:
    """Run ``job`` over the list into ``out``; see the module docs for what happens to each video."""
    opts = options or BatchOptions()
    batch_list = read_batch_list(list_path)
    spec = resolve_job(job, job_options)
    EXECUTORS.check(opts.executor)
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("the output folder is a file", where=out_dir)
    with _locked(out_dir):
        _check_writable(out_dir)
        batch = _Batch(
            items=batch_list.items,
            spec=spec,
            out=out_dir,
            options=opts,
            list_path=batch_list.path,
            on_progress=on_progress,
        )
        try:
            pending = batch.plan()
            batch._progress(force=True)
            if pending:
                executor = _create_executor(opts)
                try:
                    pool: TaskPool = executor.task_pool()
                    try:
                        batch.run(pool, pending)
                    finally:
                        pool.close()
                finally:
                    executor.close()
            for item in batch_list.items:  # nothing half-written stays behind
                key = RunKey.of(item, spec.name, spec.config_hash)
                shutil.rmtree(partial_dir(run_dir(out_dir, key)), ignore_errors=True)
            batch._progress(finished=True, force=True)
        finally:
            batch.close()
        lines, torn = read_state(out_dir)
        summary = summarise(lines, job=spec.name, config_hash=spec.config_hash, total=len(batch_list), torn=torn)
        if batch.fatal is not None:
            raise batch.fatal
    return BatchResult(
        out=out_dir,
        job=spec,
        summary=summary,
        seconds=round(time.monotonic() - batch.started, 3),
        attempted=batch.attempted,
        already_complete=batch.already_complete,
        job_seconds=round(batch.job_seconds, 3),
    )
