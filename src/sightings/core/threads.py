"""Threads and cores: serving many predictions at once on a few cores without the numeric libraries fighting.

A server's parallelism is its requests: 20 clients keep 20 predictions in flight. Kernels that also spread each
call over every core then only add work and contention — OpenBLAS's worker threads spin-wait after each small
matrix product, OpenCV's ``parallel_for`` and TFLite's thread pool hand tiny jobs around. Measured on 2 cores under
20 concurrent ``/v1/predict-single`` requests, OpenBLAS's threads alone doubled the CPU time of a prediction
(two-stage 112 → 57 ms, docs/wildlife.md "Measured"). So the API server (:func:`sightings.api.app.create_app`):

* runs each OpenBLAS and OpenCV call on one thread (:func:`single_threaded_kernels`, process-wide),
* gives the animal detector one-thread interpreters, one per prediction computing at once
  (:class:`InstancePool`: an interpreter is not thread-safe, and one shared behind a lock would be a queue), and
* lets at most :func:`available_cores` predictions compute at a time (``WildlifeService(max_parallel=...)``), so
  requests queue instead of thrashing the caches and starving the event loop that parses the next uploads.

:func:`available_cores` is also the default worker count of the GOP-parallel decoders.

The answers do not change: only how many threads compute them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from sightings.core.errors import ConfigError

__all__ = ["THREAD_ENV", "InstancePool", "available_cores", "single_threaded_kernels"]

T = TypeVar("T")

log = logging.getLogger(__name__)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: Environment variables that BLAS/OpenMP libraries read once, when they are loaded.
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def single_threaded_kernels() -> None:
    """One thread per OpenBLAS/BLAS and OpenCV call, for the whole process (call it once when serving).

    Libraries already loaded are limited at once (threadpoolctl). Those loaded later (NumPy, when the caller has
    not imported it yet, as in a ``uvicorn --workers`` process; SciPy's own OpenBLAS) read the thread count from
    the environment when they load, so it is set too, unless the user set it.
    """
    for name in THREAD_ENV:
        os.environ.setdefault(name, "1")
    import numpy  # noqa: F401  # load NumPy's BLAS now, so that the limit below reaches it

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn (identity extra)
        log.warning("threadpoolctl is not installed: BLAS keeps its own threads")
    else:
        threadpool_limits(limits=1, user_api="blas")  # not a context: the limit stays for the process
    try:
        import cv2
    except ImportError:  # pragma: no cover - the wildlife service needs OpenCV anyway
        return
    cv2.setNumThreads(1)


class InstancePool(Generic[T]):
    """Up to ``size`` instances of something not thread-safe (a model interpreter), each used by one thread at a
    time; made by ``make`` only when all the existing ones are busy."""

    def __init__(self, make: Callable[[], T], size: int, *, first: T | None = None) -> None:
        if size < 1:
            raise ConfigError(f"must be >= 1, got {size}", where="pool size")
        self._make = make
        self._size = size
        self._free: list[T] = [] if first is None else [first]
        self._made = len(self._free)
        self._cond = threading.Condition()

    @contextmanager
    def borrow(self) -> Iterator[T]:
        """An instance for the ``with`` block (waits while ``size`` are in use)."""
        with self._cond:
            while not self._free and self._made >= self._size:
                self._cond.wait()
            item = self._free.pop() if self._free else None
            if item is None:
                self._made += 1
        if item is None:
            try:
                item = self._make()
            except BaseException:
                with self._cond:
                    self._made -= 1
                    self._cond.notify()
                raise
        try:
            yield item
        finally:
            with self._cond:
                self._free.append(item)
                self._cond.notify()
