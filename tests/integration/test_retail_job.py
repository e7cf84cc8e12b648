"""The ``retail`` batch job: registered lazily, validates its options, runs one generated video (fake detector)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories import make_video
from sightings.core.errors import ConfigError
from sightings.core.protocols import BatchItem
from sightings.core.registry import JOBS


def test_retail_job_options_are_checked() -> None:
    assert "retail" in JOBS
    with pytest.raises(ConfigError, match="job retail: colour"):
        JOBS.create("retail", colour="red")
    job = JOBS.create("retail", stride=5)
    assert job.config()["stride"] == 5 and "warehouse" not in job.config()


def test_retail_job_runs_one_video(tmp_path: Path) -> None:
    video = make_video(tmp_path / "s1_cam1_20260301-093000+0300.mp4", seconds=12, fps=5, gop=5)
    script = {i: [(10.0, 10.0, 40.0, 90.0, "Person", 0.9), (50.0, 10.0, 80.0, 90.0, "Person", 0.9)] for i in range(60)}
    job = JOBS.create(
        "retail",
        detector="fake",
        tracker="fake",
        tiles="none",
        interpolate_s=0,
        detector_options={"script": script},
        roles={"min_seller_s": 5},
        interactions={"min_duration_s": 5},
        warehouse={"kind": "fake"},
    )
    out = tmp_path / "out"
    out.mkdir()
    result = job.run(BatchItem(str(video), "store", "v1"), out)
    summary = json.loads((out / "retail.json").read_text())
    assert summary["run_id"] == "s1/cam1/20260301T063000Z"
    assert (summary["tracks"], summary["sellers"], summary["customers"], summary["interactions"]) == (
        2,
        ["track-1"],
        1,
        1,
    )
    assert not result.empty and result.steps["roles"]
