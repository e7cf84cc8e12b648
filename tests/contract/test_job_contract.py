"""Every registered batch job follows the BatchJob contract (solutions' jobs join by being registered)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories import make_video, truncate_copy
from sightings.core.errors import ConfigError, MediaError
from sightings.core.protocols import BatchItem, BatchJob, JobResult
from sightings.core.registry import JOBS
from sightings.runner.jobs import resolve_job

# Options that let each job run offline on a generated video (jobs not listed run with their defaults).
OFFLINE_OPTIONS = {
    "track": {"detector": "fake", "tracker": "fake"},
    "fake": {},
    "retail": {"detector": "fake", "tracker": "fake", "tiles": "none", "warehouse": {"kind": "fake"}},
}
# List columns some jobs read (retail: which store/camera/time a recording is); others ignore them.
METADATA = {"store": "s1", "camera": "cam1", "started_at": "2026-03-01T09:00:00+03:00"}


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("job") / "clip.mp4", seconds=0.5, fps=10, width=64, height=48)


@pytest.mark.parametrize("name", JOBS.names())
def test_job_contract(name: str, video: Path, tmp_path: Path) -> None:
    if JOBS.check(name).extra == "vision":
        pytest.importorskip("pyarrow")
    options = OFFLINE_OPTIONS.get(name, {})
    spec = resolve_job(name, options)
    job = JOBS.create(name, **options)
    assert isinstance(job, BatchJob) and job.name == name and job.version
    assert json.loads(json.dumps(job.config())) == spec.config  # JSON-ready and stable
    assert resolve_job(name, options).config_hash == spec.config_hash
    with pytest.raises(ConfigError):
        JOBS.create(name, no_such_option=1)
    item = BatchItem(source=str(video), platform_id="t", video_id="clip", metadata=METADATA)
    out = tmp_path / "out"
    out.mkdir()
    result = job.run(item, out, attempt=1)
    assert isinstance(result, JobResult)
    assert any(out.iterdir()), "a job writes at least one file"
    json.dumps(dict(result.summary))
    assert all(isinstance(ok, bool) for ok in result.steps.values())
    bad = truncate_copy(video, tmp_path / "bad.mp4", 0.3)
    with pytest.raises(MediaError):
        job.run(
            BatchItem(source=str(bad), platform_id="t", video_id="bad", metadata=METADATA), tmp_path / "out", attempt=1
        )
