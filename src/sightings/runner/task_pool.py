"""Task pools for the batch runner: submit attempts, wait for whichever finishes, kill one that hangs.

A :class:`concurrent.futures.ProcessPoolExecutor` cannot stop one stuck task, so the local pool keeps its own
worker processes (``spawn``ed, one attempt at a time each, over a pipe): a task past its timeout is ended by
killing its worker, which is replaced. Workers ignore Ctrl-C (the runner stops them) and, on Linux, die with
the runner (``PR_SET_PDEATHSIG``), so a ``kill -9`` of the runner leaves no worker writing behind it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Protocol

from sightings.core.errors import BackendError
from sightings.runner.attempt import AttemptReport, AttemptTask, run_attempt

__all__ = ["InlineTaskPool", "ProcessTaskPool", "TaskOutcome", "TaskPool"]


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """A finished task: its report, or why its worker died without one (``lost``)."""

    token: int
    report: AttemptReport | None = None
    lost: str | None = None
    lost_kind: str = "crash"


class TaskPool(Protocol):
    """What the batch runner needs from an executor."""

    capacity: int

    def submit(self, token: int, task: AttemptTask) -> None: ...

    def wait(self, timeout: float) -> list[TaskOutcome]: ...

    def kill(self, token: int) -> None: ...

    def close(self) -> None: ...


class InlineTaskPool:
    """Runs each attempt in the calling process when waited on (debugging; timeouts cannot be enforced)."""

    capacity = 1
    enforces_timeout = False

    def __init__(self) -> None:
        self._pending: list[tuple[int, AttemptTask]] = []

    def submit(self, token: int, task: AttemptTask) -> None:
        self._pending.append((token, task))

    def wait(self, timeout: float) -> list[TaskOutcome]:
        done = [TaskOutcome(token, run_attempt(task)) for token, task in self._pending]
        self._pending.clear()
        return done

    def kill(self, token: int) -> None:
        return None

    def close(self) -> None:
        self._pending.clear()


def _die_with_parent(parent_pid: int) -> None:
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _worker_main(conn: Connection, parent_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    conn.send(_READY)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(run_attempt(task))


_READY = "ready"
START_TIMEOUT_S = 120.0


@dataclass(slots=True)
class _Worker:
    process: BaseProcess
    conn: Connection
    ready: bool = False

    def wait_ready(self) -> None:
        """Block until the worker has started (so its first task's time limit does not count its start-up)."""
        if self.ready:
            return
        try:
            started = self.conn.poll(START_TIMEOUT_S) and self.conn.recv() == _READY
        except (EOFError, OSError):
            started = False
        if not started:
            raise BackendError(f"a worker process did not start within {START_TIMEOUT_S:g} s", where="executor")
        self.ready = True


def _death_reason(code: int | None) -> tuple[str, str]:
    if code is not None and code < 0 and -code == signal.SIGKILL:
        return "worker was killed (SIGKILL: out of memory?)", "oom"
    if code is not None and code < 0:
        return f"worker died from signal {signal.Signals(-code).name}", "crash"
    return f"worker exited with code {code}", "crash"


class ProcessTaskPool:
    """``workers`` local processes, one attempt each at a time; a hung attempt is killed with its worker."""

    enforces_timeout = True

    def __init__(self, workers: int) -> None:
        self.capacity = max(1, workers)
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._busy: dict[int, _Worker] = {}
        for _ in range(self.capacity):
            self._idle.append(self._start())
        for worker in self._idle:
            worker.wait_ready()

    def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=_worker_main, args=(child, os.getpid()), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def submit(self, token: int, task: AttemptTask) -> None:
        worker = self._idle.pop() if self._idle else self._start()
        if not worker.process.is_alive():
            self._stop(worker)
            worker = self._start()
        worker.wait_ready()
        self._busy[token] = worker
        worker.conn.send(task)

    def wait(self, timeout: float) -> list[TaskOutcome]:
        if not self._busy:
            return []
        waitables: list[Connection | int] = []
        for w in self._busy.values():
            waitables += [w.conn, w.process.sentinel]
        multiprocessing.connection.wait(waitables, timeout=max(0.0, timeout))
        done: list[TaskOutcome] = []
        for token, worker in list(self._busy.items()):
            report: AttemptReport | None = None
            with contextlib.suppress(EOFError, OSError):
                if worker.conn.poll():
                    report = worker.conn.recv()
            if report is not None:
                del self._busy[token]
                self._idle.append(worker)
                done.append(TaskOutcome(token, report))
            elif not worker.process.is_alive():
                del self._busy[token]
                worker.process.join(timeout=1)
                why, kind = _death_reason(worker.process.exitcode)
                self._stop(worker)
                done.append(TaskOutcome(token, lost=why, lost_kind=kind))
        return done

    def kill(self, token: int) -> None:
        worker = self._busy.pop(token, None)
        if worker is not None:
            self._stop(worker)

    def _stop(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        with contextlib.suppress(ValueError):
            worker.process.close()

    def close(self) -> None:
        for worker in self._idle:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in self._idle:
            worker.process.join(timeout=2)
            self._stop(worker)
        for worker in self._busy.values():
            self._stop(worker)
        self._idle.clear()
        self._busy.clear()
