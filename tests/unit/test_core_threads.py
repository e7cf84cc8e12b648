"""Serving many predictions at once: the instance pool, the core count, single-threaded kernels, the projection."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest

from sightings.core.errors import ConfigError
from sightings.core.threads import THREAD_ENV, InstancePool, available_cores, single_threaded_kernels
from sightings.solutions.wildlife.species import PROJECTION_DIMS, project


def test_pool_makes_instances_only_when_all_are_busy_and_never_more_than_its_size() -> None:
    made: list[int] = []
    in_use = 0
    most = 0
    lock = threading.Lock()

    def make() -> int:
        made.append(len(made))
        return made[-1]

    pool: InstancePool[int] = InstancePool(make, 2)
    with pool.borrow() as first:
        pass
    with pool.borrow() as again:
        assert again == first and made == [0], "a free instance is reused, not made again"

    def work() -> None:
        nonlocal in_use, most
        with pool.borrow():
            with lock:
                in_use += 1
                most = max(most, in_use)
            time.sleep(0.01)
            with lock:
                in_use -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most <= 2 and len(made) <= 2


def test_pool_starts_from_a_given_instance_and_a_failed_make_frees_its_place() -> None:
    calls = 0

    def make() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("model file vanished")
        return "made"

    pool = InstancePool(make, 2, first="given")
    with pool.borrow() as item:
        assert item == "given"
        with pytest.raises(RuntimeError, match="vanished"), pool.borrow():
            pass
    with pool.borrow() as a, pool.borrow() as b:  # the failed make did not use up the second place
        assert {a, b} == {"given", "made"}


def test_pool_size_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="pool size"):
        InstancePool(lambda: 1, 0)


def test_available_cores_is_at_least_one() -> None:
    assert available_cores() >= 1


@pytest.mark.usefixtures("kernel_threads")
def test_single_threaded_kernels_sets_opencv_and_blas_to_one_thread() -> None:
    import cv2
    import threadpoolctl

    single_threaded_kernels()
    assert cv2.getNumThreads() == 1
    assert all(i["num_threads"] == 1 for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")


def test_single_threaded_kernels_reach_blas_loaded_after_the_call() -> None:
    """A ``uvicorn --workers`` process builds the app before anything imported NumPy: its BLAS (and SciPy's, loaded
    later still) must run one thread too. Before this was fixed, such a worker had 2 BLAS threads per computing
    request and served a third of the requests per second."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "assert 'numpy' not in sys.modules\n"
        "from sightings.core.threads import single_threaded_kernels\n"
        "single_threaded_kernels()\n"
        "import scipy.linalg, threadpoolctl\n"
        "import json\n"
        "print(json.dumps([i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    counts = json.loads(out.stdout)
    assert counts and set(counts) == {1}


def test_projection_matrix_is_made_once_and_gives_the_seeded_projection() -> None:
    vectors = np.random.default_rng(1).random((3, 40)).astype(np.float32)
    matrix = np.random.default_rng(0).standard_normal((40, PROJECTION_DIMS)) / np.sqrt(40)
    np.testing.assert_array_equal(project(vectors), vectors.astype(np.float64) @ matrix)
    np.testing.assert_allclose(project(vectors[0])[0], vectors[0].astype(np.float64) @ matrix, rtol=1e-12)
