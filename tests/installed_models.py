"""Where the real models installed by ``sightings models install`` are, for the tests that run them (else skip).

Read at import time: the autouse settings fixture removes ``SIGHTINGS_*`` variables before each test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _candidates() -> list[Path]:
    out = []
    for key, sub in (("SIGHTINGS_MODELS_DIR", ""), ("SIGHTINGS_DATA_DIR", "models")):
        if os.environ.get(key):
            out.append(Path(os.environ[key]) / sub)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    out.append(Path(base) / "sightings" / "models")
    return out


CANDIDATES = _candidates()


def installed_in(model: str) -> Path | None:
    """The first models dir that holds ``model``, or ``None``."""
    return next((d for d in CANDIDATES if (d / model / "model.json").is_file()), None)


def models_dir_of(model: str, runtime: str) -> Path:
    """The models dir holding ``model`` (skip with the install command when it is not installed)."""
    pytest.importorskip(runtime, reason=f"{runtime} is not installed (the 'vision' extra)")
    folder = installed_in(model)
    if folder is None:
        pytest.skip(f"model {model!r} is not installed (set SIGHTINGS_MODELS_DIR; `sightings models install {model}`)")
    return folder
