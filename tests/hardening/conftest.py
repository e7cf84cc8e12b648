"""Fixtures of the hardening tests: a pets app with stored keys of each role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hardening_factories import PetsApi

pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")


@pytest.fixture
def pets_api(tmp_path: Path) -> Iterator[PetsApi]:
    api = PetsApi(tmp_path)
    yield api
    api.close()
