"""Shared fixtures. Media is generated here; ../shared/data is used only by tests marked ``shared_data``."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def shared_data() -> Path:
    """The evaluation data folder (see ``sightings.evaluate.datasets``); skips when absent (a fresh clone)."""
    from sightings.evaluate.datasets import shared_data_candidates, shared_data_dir

    path = shared_data_dir()
    if path is None:
        tried = ", ".join(str(p) for p in shared_data_candidates())
        pytest.skip(f"needs the shared evaluation data (absent on a fresh clone; looked in {tried})")
    return path


@pytest.fixture
def kernel_threads() -> Iterator[None]:
    """Put OpenCV's and BLAS's thread counts (and the thread-count variables) back after a test changes them for
    the process (``create_app`` does)."""
    from sightings.core.threads import THREAD_ENV

    cv2 = pytest.importorskip("cv2")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    cv2_threads = cv2.getNumThreads()
    blas = [(i["prefix"], i["num_threads"]) for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    env = {name: os.environ.get(name) for name in THREAD_ENV}
    yield
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    cv2.setNumThreads(cv2_threads)
    for prefix, threads in blas:
        threadpoolctl.threadpool_limits(limits={prefix: threads})


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own data/models dirs and no stray SIGHTINGS_* variables or config file."""
    for key in list(os.environ):
        if key.startswith("SIGHTINGS_") and key != "SIGHTINGS_SHARED_DATA":
            monkeypatch.delenv(key)
    data = tmp_path_factory.mktemp("sightings-data")
    monkeypatch.setenv("SIGHTINGS_DATA_DIR", str(data))
    # predictions compute in the server process: an app per test would otherwise start a worker process per core
    # (tests/integration/test_wildlife_workers.py runs the workers themselves)
    monkeypatch.setenv("SIGHTINGS_SERVER__COMPUTE_PROCESSES", "0")
    from sightings.core import config

    config.set_config_file(None)
    yield
    config.set_config_file(None)


@pytest.fixture(autouse=True)
def _no_error_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Tripwire (after PySceneDetect): a test that logs at ERROR fails unless it says it expects it."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR and r.name.startswith("sightings")]
    if errors and not getattr(caplog, "expect_errors", False):
        pytest.fail(f"unexpected ERROR log: {errors[0].getMessage()}")
