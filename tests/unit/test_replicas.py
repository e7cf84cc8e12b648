"""ReplicaPool: work in worker processes, each with its own replica (real processes, spawned)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processes import alive
from replica_factories import make_broken, make_counter
from sightings.core.errors import BackendUnavailableError, ConfigError, InputError
from sightings.core.replicas import ReplicaPool


@pytest.fixture(scope="module")
def pool() -> ReplicaPool:
    pool = ReplicaPool(functools.partial(make_counter, 10), 2, name="test workers")
    yield pool
    pool.close()


def test_calls_run_in_other_processes_each_with_one_replica(pool: ReplicaPool) -> None:
    pids = pool.warm()
    assert len(pids) == 2 and os.getpid() not in pids
    seen = {pool.call("where") for _ in range(20)}
    assert {pid for pid, _ in seen} <= set(pids)
    assert {built for _, built in seen} == {1}  # each worker built its replica once
    assert pool.call("double", 21, plus=1) == 43


def test_an_error_comes_back_as_itself(pool: ReplicaPool) -> None:
    with pytest.raises(InputError, match="not an image") as info:
        pool.call("refuse", "x.gif")
    assert info.value.where == "x.gif" and info.value.hint == "send a JPEG"


def test_a_dead_worker_is_a_503_and_the_next_call_starts_new_workers() -> None:
    pool = ReplicaPool(make_counter, 1, name="test workers")
    try:
        (before,) = pool.warm()
        with pytest.raises(BackendUnavailableError, match="worker process stopped") as info:
            pool.call("die")
        assert info.value.where == "test workers"
        pid, _ = pool.call("where")
        assert pid != before
    finally:
        pool.close()


def test_a_replica_that_cannot_be_built_says_why_on_every_call() -> None:
    pool = ReplicaPool(make_broken, 1, name="test workers")
    try:
        with pytest.raises(InputError, match="no models here"):
            pool.warm()
        with pytest.raises(InputError, match="no models here"):  # the same worker, the same reason: no respawning
            pool.call("where")
    finally:
        pool.close()


def test_size_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="must be >= 1"):
        ReplicaPool(make_counter, 0)


def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    """A server killed outright (SIGKILL: no shutdown) leaves no worker behind."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import functools, sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
        "from replica_factories import make_counter\n"
        "from sightings.core.replicas import ReplicaPool\n"
        "if __name__ == '__main__':\n"
        "    pool = ReplicaPool(make_counter, 2)\n"
        "    print(' '.join(map(str, pool.warm())), flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    workers = [int(p) for p in proc.stdout.readline().split()]
    assert len(workers) == 2
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers)


def test_a_worker_whose_server_died_while_it_started_ends_at_once() -> None:
    """The server killed between spawning a worker and the worker's set-up: the worker's parent is already init,
    and it must not take init for its server (it used to wait for ever)."""
    code = (
        "import time\n"
        "from sightings.core.replicas import _start\n"
        "_start(dict, 2**22 + 12345)  # not this process's parent: its server is gone\n"
        "time.sleep(30)\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], timeout=20, check=False)
    assert done.returncode == 0 and time.monotonic() - started < 15
