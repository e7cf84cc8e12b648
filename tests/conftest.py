"""Shared fixtures. Media is generated here; ../shared/data is used only by tests marked ``shared_data``."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$SIGHTINGS_SHARED_DATA`` or ../shared/data beside the repository."""
    return Path(os.environ.get("SIGHTINGS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """The shared evaluation data folder; skips the test when it is absent (a user's fresh clone)."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"needs shared evaluation data at {path} (absent on a fresh clone)")
    return path


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own data/models dirs and no stray SIGHTINGS_* variables or config file."""
    for key in list(os.environ):
        if key.startswith("SIGHTINGS_") and key != "SIGHTINGS_SHARED_DATA":
            monkeypatch.delenv(key)
    data = tmp_path_factory.mktemp("sightings-data")
    monkeypatch.setenv("SIGHTINGS_DATA_DIR", str(data))
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
