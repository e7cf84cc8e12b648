"""Finding the evaluation data: PETS09's pair of files, or None so a benchmark can say it skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightings.evaluate import datasets


def test_pets09_files_need_both_the_video_and_the_ground_truth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "shared_data_candidates", lambda: [tmp_path])
    assert datasets.pets09_files() is None
    (tmp_path / "pets09").mkdir()
    (tmp_path / "pets09" / "vtest.avi").write_bytes(b"x")
    assert datasets.pets09_files() is None  # the ground truth is missing
    (tmp_path / "pets09" / "gt_1_400.txt").write_text("1,1,0,0,1,1,1,-1,-1,-1\n")
    assert datasets.pets09_files() == (tmp_path / "pets09" / "vtest.avi", tmp_path / "pets09" / "gt_1_400.txt")
