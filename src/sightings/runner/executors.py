"""Executors: run a function over items, results in input order."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from sightings.core.errors import ConfigError

if TYPE_CHECKING:
    from sightings.runner.task_pool import InlineTaskPool, ProcessTaskPool

__all__ = ["InlineExecutor", "LocalPoolExecutor"]

T = TypeVar("T")
R = TypeVar("R")


class InlineExecutor:
    """Runs each task in the calling process, one at a time (debugging, tests, tiny jobs)."""

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        return (fn(item) for item in items)

    def task_pool(self) -> InlineTaskPool:
        """For ``sightings batch run``: attempts run in this process (no per-video timeout)."""
        from sightings.runner.task_pool import InlineTaskPool

        return InlineTaskPool()

    def close(self) -> None:
        return None


class LocalPoolExecutor:
    """A local process pool (``workers`` defaults to the CPU count)."""

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}", where="executor.options.workers")
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        return self._pool.map(fn, items)

    def task_pool(self) -> ProcessTaskPool:
        """For ``sightings batch run``: ``workers`` killable worker processes (per-video timeouts)."""
        from sightings.runner.task_pool import ProcessTaskPool

        return ProcessTaskPool(self.workers)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalPoolExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
