"""Where the evaluation data lives.

The committed ground truth is in ``../shared/data`` (read-only); the media that come from registry packages are
staged by ``make stage-data`` into ``.data/shared`` (a full copy plus the media). Lookup order:
``$SIGHTINGS_SHARED_DATA``, ``<repo>/.data/shared``, ``<repo>/../shared/data``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PETS09", "pets09_files", "repo_root", "shared_data_candidates", "shared_data_dir", "shared_file"]

ENV = "SIGHTINGS_SHARED_DATA"


def repo_root() -> Path:
    """The checkout holding ``pyproject.toml``: searched upwards from the working directory, then this file."""
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file() and (folder / "src" / "sightings").is_dir():
                return folder
    return Path.cwd()


def shared_data_candidates() -> list[Path]:
    """Folders that may hold the evaluation data, best first."""
    root = repo_root()
    found = [Path(os.environ[ENV])] if os.environ.get(ENV) else []
    return [*found, root / ".data" / "shared", root.parent / "shared" / "data"]


def shared_data_dir() -> Path | None:
    """The first existing evaluation-data folder, or ``None`` (a user's fresh clone)."""
    return next((p for p in shared_data_candidates() if p.is_dir()), None)


def shared_file(relative: str) -> Path | None:
    """``relative`` (e.g. ``"pets09/vtest.avi"``) in the first folder that has it, or ``None``."""
    return next((p / relative for p in shared_data_candidates() if (p / relative).exists()), None)


PETS09 = ("pets09/vtest.avi", "pets09/gt_1_400.txt")
"""PETS09-S2L1's video and the ground truth of its frames 1-400 in the evaluation data."""
PETS09_MISSING = f"no PETS09 video and ground truth ({' and '.join(PETS09)}; make stage-data, or SIGHTINGS_SHARED_DATA)"
"""What a benchmark on PETS09 prints (after ``skipped:``) when :func:`pets09_files` finds none."""


def pets09_files() -> tuple[Path, Path] | None:
    """PETS09-S2L1's video and ground truth (:data:`PETS09`), or ``None`` when either is missing: the benchmarks on
    PETS09 then print that they skipped (``make stage-data`` stages them)."""
    video, gt = (shared_file(name) for name in PETS09)
    return None if video is None or gt is None else (video, gt)
