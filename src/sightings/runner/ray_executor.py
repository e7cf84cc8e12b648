"""Ray executor: the same batch on a Ray cluster (``pip install 'sightings[ray]'``).

    RayExecutor()                                  # a local Ray started in this process (num_cpus = CPU count)
    RayExecutor(address="ray://head:10001")        # a running cluster (Ray Client), or "auto" on a cluster node
    RayExecutor(workers=8, num_cpus=2)             # at most 8 videos in flight; a local Ray with 2 CPUs

Each attempt is one Ray task (``max_retries=0``: retries are the runner's, with its back-off and state lines);
a task past its timeout is cancelled with ``force=True``, which kills its worker process. The workers must be
able to import ``sightings`` (same environment, or a ``runtime_env`` in ``init_options``) and to read the
videos and write the output folder (a shared file system on a real cluster).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from sightings.core.errors import BackendUnavailableError, ConfigError
from sightings.runner.attempt import AttemptTask, run_attempt
from sightings.runner.task_pool import TaskOutcome

__all__ = ["RayExecutor", "RayTaskPool"]

T = TypeVar("T")
R = TypeVar("R")


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailableError(
            "the Ray executor needs the ray package", where="executor.ray", hint="pip install 'sightings[ray]'"
        ) from exc
    return ray


class RayExecutor:
    """Runs tasks on Ray: a local instance started here, or the cluster at ``address``."""

    enforces_timeout = True

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        num_cpus: int | None = None,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}", where="executor.options.workers")
        if address is not None and num_cpus is not None:
            raise ConfigError("num_cpus applies to a local Ray only, not with an address", where="executor.options")
        self.address = address
        self.workers = workers
        self.num_cpus = num_cpus
        self.init_options = dict(init_options or {})
        self._started = False

    def _ensure(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.WARNING,
                **self.init_options,
            }
            if self.address is not None:
                options["address"] = self.address
            elif self.num_cpus is not None:
                options["num_cpus"] = self.num_cpus
            try:
                ray.init(**options)
            except ConnectionError as exc:
                raise BackendUnavailableError(f"cannot reach the Ray cluster: {exc}", where=self.address) from exc
            self._started = True
        return ray

    def capacity(self) -> int:
        """How many tasks to keep in flight: ``workers``, else the cluster's CPUs."""
        if self.workers is not None:
            return self.workers
        ray = self._ensure()
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        ray = self._ensure()
        remote = ray.remote(max_retries=0)(fn)
        refs = [remote.remote(item) for item in items]
        return (ray.get(ref) for ref in refs)

    def task_pool(self) -> RayTaskPool:
        ray = self._ensure()
        return RayTaskPool(ray, self.capacity())

    def close(self) -> None:
        if self._started:
            ray = _ray()
            if ray.is_initialized():
                ray.shutdown()
            self._started = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lost_reason(ray: Any, exc: BaseException) -> tuple[str, str]:
    errors = ray.exceptions
    if isinstance(exc, getattr(errors, "OutOfMemoryError", ())):
        return "Ray killed the worker: out of memory", "oom"
    if isinstance(exc, getattr(errors, "TaskCancelledError", ())):
        return "task cancelled", "timeout"
    if isinstance(exc, errors.WorkerCrashedError):
        return "Ray worker crashed", "crash"
    return f"Ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", "crash"


class RayTaskPool:
    """Attempts as Ray tasks; ``kill`` cancels one with ``force=True`` (its worker process is killed)."""

    enforces_timeout = True

    def __init__(self, ray: Any, capacity: int) -> None:
        self._ray = ray
        self.capacity = capacity
        self._remote = ray.remote(max_retries=0, num_cpus=1)(run_attempt)
        self._refs: dict[Any, int] = {}

    def submit(self, token: int, task: AttemptTask) -> None:
        self._refs[self._remote.remote(task)] = token

    def wait(self, timeout: float) -> list[TaskOutcome]:
        if not self._refs:
            return []
        refs = list(self._refs)
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=max(0.0, timeout))
        if ready:
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
        done = []
        for ref in ready:
            token = self._refs.pop(ref)
            try:
                done.append(TaskOutcome(token, self._ray.get(ref)))
            except Exception as exc:
                why, kind = _lost_reason(self._ray, exc)
                done.append(TaskOutcome(token, lost=why, lost_kind=kind))
        return done

    def kill(self, token: int) -> None:
        for ref, tok in list(self._refs.items()):
            if tok == token:
                del self._refs[ref]
                self._ray.cancel(ref, force=True)

    def close(self) -> None:
        for ref in list(self._refs):
            self._ray.cancel(ref, force=True)
        self._refs.clear()
