"""The Ray executor (a local Ray with 2 CPUs): map in order, and a batch with a hung and a crashing video."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_factories import make_video_set, state_lines
from sightings.core.registry import EXECUTORS
from sightings.runner.batch import BatchOptions, run_batch
from sightings.runner.manifest import canonical_json
from sightings.runner.state import latest_by_video

pytest.importorskip("ray", reason="needs ray (pip install 'sightings[ray]')")
pytestmark = pytest.mark.slow  # starting a local Ray takes ~5 s


def test_ray_map_and_a_batch_with_faults(tmp_path: Path) -> None:
    executor = EXECUTORS.create("ray", num_cpus=2)
    try:
        # workers import functions by module: a package function, not one from a test module
        assert list(executor.map(canonical_json, [{"b": 1, "a": 2}, [1]])) == ['{"a":2,"b":1}', "[1]"]
    finally:
        executor.close()
    vs = make_video_set(tmp_path, 6, corrupt_every=6)
    options = {"sleep_by_id": {"v001": 60}, "crash": {"v002": 1}, "oom": {"v003": 1}}
    out = tmp_path / "out"
    result = run_batch(
        vs.list_path,
        "fake",
        options,
        out,
        BatchOptions(executor="ray", executor_options={"num_cpus": 2}, timeout_s=3, retries=1, backoff_s=0.01),
    )
    latest = {v.split("/")[1]: r for v, r in latest_by_video(state_lines(out)).items()}
    assert latest["v001"]["status"] == "timeout"
    assert latest["v002"]["status"] == "done" and latest["v002"]["attempt"] == 2
    assert latest["v003"]["status"] == "done"
    assert latest["v005"]["status"] == "skipped"
    assert result.summary.counts["done"] == 4
    assert not [p for p in out.rglob("*") if ".partial" in p.name]
