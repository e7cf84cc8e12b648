"""CPU-bound work in worker processes, each with its own replica of a service: no GIL shared between them.

    pool = ReplicaPool(functools.partial(make_service, settings), size=2, name="wildlife predictions")
    pool.warm()                                   # start every worker and build its replica now (optional)
    result = pool.call("analyse", data, species="lion")   # replica.analyse(...) in whichever worker is free

Why: a Python server computes its requests on threads, and every thread needs the GIL between the calls that
release it (OpenCV, ONNX Runtime, NumPy's big kernels). Measured on 2 cores with 20 concurrent wildlife
predictions, one process kept the cores 15 % idle while threads waited for the GIL, and p95 stayed above 300 ms
whatever the number of threads; with the same work in two worker processes p95 fell to ~275 ms
(docs/wildlife.md "Prediction workers").

Each worker is a fresh interpreter (``spawn``: no fork of a process that already runs threads), limited to one
thread per BLAS/OpenCV call (:func:`~sightings.core.threads.single_threaded_kernels`) with the server's allocator
thresholds (:func:`~sightings.core.memory.keep_freed_memory`), and builds its replica once with ``factory`` (a
picklable callable: a module-level function or a ``functools.partial`` of one). Calls go to the first free
worker (one shared queue), so the load spreads evenly by request, not by connection.

Errors: an exception raised by the replica, or by ``factory`` when a worker builds it, comes back as itself (the
worker stays up and answers every call with the factory's error). A worker that dies (a crash, the OOM killer)
breaks the pool; the call that saw it raises :class:`~sightings.core.errors.BackendUnavailableError` (503) and the
next call starts a fresh pool. A worker whose server is killed outright (no shutdown) ends by itself within a
second.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sightings.core.errors import BackendUnavailableError, ConfigError

__all__ = ["ReplicaPool"]

log = logging.getLogger(__name__)

_REPLICA: dict[str, Any] = {}  # "replica": this worker process's replica (set by _start)


def _start(factory: Callable[[], Any], parent: int) -> None:
    """Worker set-up. ``parent`` is the pid of the process that started the pool, passed from there: read here, it
    would already be init's when the server was killed while this worker was still starting, and the worker would
    wait for ever."""
    from sightings.core.memory import keep_freed_memory
    from sightings.core.threads import single_threaded_kernels

    if os.getppid() != parent:  # the server died before this worker got going
        os._exit(0)
    threading.Thread(target=_exit_with, args=(parent,), name="exit-with-parent", daemon=True).start()
    single_threaded_kernels()
    keep_freed_memory()
    try:
        _REPLICA["replica"] = factory()
    except Exception as exc:  # the worker stays up and answers every call with this error (the real reason)
        _REPLICA["error"] = exc


def _exit_with(parent: int, every_s: float = 0.5) -> None:
    """End this worker when the process that started it is gone (killed without shutting the pool down: a worker
    would otherwise wait on its queue for ever, holding its memory)."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(0)


def _replica() -> Any:
    if "error" in _REPLICA:
        raise _REPLICA["error"]
    return _REPLICA["replica"]


def _run(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return getattr(_replica(), method)(*args, **kwargs)


def _ready(hold_s: float) -> int:
    _replica()  # a replica that could not be built says why
    time.sleep(hold_s)  # keep this worker busy, so that the next warm-up call starts another
    return os.getpid()


class ReplicaPool:
    """``size`` worker processes, each holding ``factory()``; :meth:`call` runs a method of one of them."""

    def __init__(self, factory: Callable[[], Any], size: int, *, name: str = "workers") -> None:
        if size < 1:
            raise ConfigError(f"must be >= 1, got {size}", where=f"{name}: processes")
        self.factory = factory
        self.size = size
        self.name = name
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.size,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(self.factory, os.getpid()),
                )
            return self._executor

    def warm(self, hold_s: float = 0.2) -> list[int]:
        """Start every worker and build its replica now; their process ids."""
        pool = self._pool()
        try:
            futures = [pool.submit(_ready, hold_s) for _ in range(self.size)]
            return sorted({f.result() for f in futures})
        except BrokenProcessPool as exc:
            raise self._broken(pool, exc) from None

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``replica.method(*args, **kwargs)`` in a free worker (arguments and result cross by pickle)."""
        pool = self._pool()
        try:
            return pool.submit(_run, method, args, kwargs).result()
        except BrokenProcessPool as exc:
            raise self._broken(pool, exc) from None

    def _broken(self, pool: ProcessPoolExecutor, exc: BaseException) -> BackendUnavailableError:
        with self._lock:
            if self._executor is pool:  # the first call to see it replaces the pool; the next call starts fresh
                self._executor = None
        pool.shutdown(wait=False, cancel_futures=True)
        log.warning("%s: a worker process stopped (%s); a new pool starts on the next call", self.name, exc)
        return BackendUnavailableError(
            "a worker process stopped during this request (crash or out of memory); retry: new workers start",
            where=self.name,
        )

    def close(self) -> None:
        """Stop the workers (running calls finish; queued ones are cancelled)."""
        with self._lock:
            pool, self._executor = self._executor, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
