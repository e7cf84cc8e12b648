"""The batch runner on generated videos with the fake job: outcomes, idempotency, recovery, the track job."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest

from batch_factories import PLATFORM, make_video_set, state_lines
from sightings.core.errors import ConfigError, InputError
from sightings.runner.batch import LOCK_NAME, BatchOptions, run_batch
from sightings.runner.manifest import MANIFEST_NAME, read_manifest, verify_outputs
from sightings.runner.state import latest_by_video

FAST = {"backoff_s": 0.01, "retries": 2}


def _runs(out: Path, job: str, vid: str) -> list[Path]:
    return sorted(p for p in (out / "runs" / job / PLATFORM / vid).glob("*") if p.is_dir())


def _no_partials(out: Path) -> None:
    assert not [p for p in out.rglob("*") if ".partial" in p.name]


def test_every_outcome_is_recorded_and_a_bad_video_never_stops_the_batch(tmp_path: Path) -> None:
    vs = make_video_set(tmp_path, 10, corrupt_every=10)  # v009 truncated
    options = {
        "sleep_s": 0.01,
        "transient": {"v001": 2},  # succeeds on the 3rd attempt
        "oom": {"v002": 1},
        "crash": {"v003": 1},  # the worker process dies
        "error": ["v004"],  # a bug: retried, then failed
        "empty": ["v005"],
        "permanent": ["v006"],
        "sleep_by_id": {"v007": 60},  # hangs: killed at the timeout, twice
    }
    out = tmp_path / "out"
    result = run_batch(
        vs.list_path, "fake", options, out, BatchOptions(workers=2, timeout_s=1.5, retries=1, backoff_s=0.01)
    )
    latest = latest_by_video(state_lines(out))
    status = {v.split("/")[1]: row["status"] for v, row in latest.items()}
    assert status == {
        "v000": "done",
        "v001": "failed",  # 2 transient faults > 1 retry
        "v002": "done",
        "v003": "done",
        "v004": "failed",
        "v005": "empty",
        "v006": "skipped",
        "v007": "timeout",
        "v008": "done",
        "v009": "skipped",
    }
    assert latest["yt/v009"]["error"]["kind"] == "corrupt-media"
    assert "v009.mp4" in latest["yt/v009"]["error"]["message"]
    assert latest["yt/v003"]["attempt"] == 2
    kinds = {(r["video_id"], r["error"]["kind"]) for r in state_lines(out) if r["status"] == "retrying"}
    assert {("v001", "network"), ("v002", "oom"), ("v003", "crash"), ("v004", "error"), ("v007", "timeout")} <= kinds
    s = result.summary
    assert s.counts == {"done": 4, "empty": 1, "skipped": 2, "failed": 2, "timeout": 1, "pending": 0}
    assert any("failed" in w for w in s.warnings) and any("out of memory" in w for w in s.warnings)
    assert s.step_success["work"] == 1.0
    for vid in ("v000", "v002", "v003", "v005", "v008"):
        (run,) = _runs(out, "fake", vid)
        manifest = read_manifest(run)
        assert manifest is not None and verify_outputs(run, manifest) == []
        assert [o["path"] for o in manifest["outputs"]] == ["result.json"]
    for vid in ("v001", "v004", "v006", "v007", "v009"):
        assert _runs(out, "fake", vid) == []
    _no_partials(out)
    progress = json.loads((out / "progress.json").read_text())
    assert progress["finished"] and progress["ended"] == 10


def test_rerun_skips_complete_runs_and_skipped_videos_and_a_new_config_makes_new_runs(tmp_path: Path) -> None:
    vs = make_video_set(tmp_path, 10)
    out = tmp_path / "out"
    first = run_batch(vs.list_path, "fake", {"transient": vs.transient}, out, BatchOptions(workers=2, **FAST))
    assert first.summary.counts["done"] == 9 and first.summary.counts["skipped"] == 1
    manifests = {p: p.read_bytes() for p in out.rglob(MANIFEST_NAME)}
    again = run_batch(vs.list_path, "fake", {"transient": vs.transient}, out, BatchOptions(workers=2, **FAST))
    assert again.attempted == 0 and again.already_complete == 9
    assert {p: p.read_bytes() for p in out.rglob(MANIFEST_NAME)} == manifests
    assert again.summary.counts == first.summary.counts
    retried = run_batch(
        vs.list_path, "fake", {"transient": vs.transient}, out, BatchOptions(retry_skipped=True, workers=1, **FAST)
    )
    assert retried.attempted == 1  # only the corrupt video, skipped again
    other = run_batch(vs.list_path, "fake", {"sleep_s": 0.001}, out, BatchOptions(executor="inline", **FAST))
    assert other.job.config_hash != first.job.config_hash and other.attempted == 10
    assert len(_runs(out, "fake", "v000")) == 2


def test_a_lost_state_line_is_recovered_from_the_manifest_and_torn_lines_are_ignored(tmp_path: Path) -> None:
    vs = make_video_set(tmp_path, 4, corrupt_every=100)
    out = tmp_path / "out"
    run_batch(vs.list_path, "fake", {}, out, BatchOptions(executor="inline"))
    lines = (out / "state.jsonl").read_text().splitlines()
    # as if killed after v003 was published but before its line was written, mid-way through another line
    (out / "state.jsonl").write_text("\n".join(lines[:3]) + '\n{"video": "yt/v0')
    (run,) = _runs(out, "fake", "v003")
    (run.parent / f".{run.name}.partial").mkdir()  # a half-written attempt left by the kill
    result = run_batch(vs.list_path, "fake", {}, out, BatchOptions(executor="inline"))
    assert result.attempted == 0 and result.summary.counts["done"] == 4
    recovered = [r for r in state_lines_tolerant(out) if r.get("note")]
    assert [r["video_id"] for r in recovered] == ["v003"]
    assert any("torn" in w for w in result.summary.warnings)
    _no_partials(out)


def state_lines_tolerant(out: Path) -> list[dict[str, object]]:
    rows = []
    for line in (out / "state.jsonl").read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def test_a_second_batch_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    vs = make_video_set(tmp_path, 2)
    out = tmp_path / "out"
    out.mkdir()
    with (out / LOCK_NAME).open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another batch is running"):
            run_batch(vs.list_path, "fake", {}, out, BatchOptions(executor="inline"))


def test_a_setup_error_stops_the_batch(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    vs = make_video_set(tmp_path, 5, corrupt_every=100)
    options = {"detector": "fake", "tracker": "fake", "detector_options": {"no_such_option": 1}}
    with pytest.raises(ConfigError, match="batch stopped"):
        run_batch(vs.list_path, "track", options, tmp_path / "out", BatchOptions(executor="inline"))
    lines = state_lines(tmp_path / "out")
    assert len(lines) == 1 and lines[0]["status"] == "failed" and lines[0]["error"]["kind"] == "config"


def test_track_job_writes_tracks_and_summary(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    vs = make_video_set(tmp_path, 3, corrupt_every=3)
    out = tmp_path / "out"
    result = run_batch(
        vs.list_path, "track", {"detector": "fake", "tracker": "fake", "stride": 2}, out, BatchOptions(workers=1)
    )
    assert result.summary.counts["empty"] == 2 and result.summary.counts["skipped"] == 1  # nothing scripted
    (run,) = _runs(out, "track", "v000")
    manifest = read_manifest(run)
    assert manifest is not None
    assert sorted(o["path"] for o in manifest["outputs"]) == ["summary.json", "tracks.parquet", "tracks.txt"]
    assert json.loads((run / "summary.json").read_text())["frames"] == 3
    assert manifest["config"]["stride"] == 2 and manifest["result"] == "empty"


def test_probe_job(tmp_path: Path) -> None:
    vs = make_video_set(tmp_path, 2, corrupt_every=100)
    out = tmp_path / "out"
    run_batch(vs.list_path, "probe", None, out, BatchOptions(executor="inline"))
    (run,) = _runs(out, "probe", "v001")
    info = json.loads((run / "probe.json").read_text())
    assert (info["width"], info["height"]) == (64, 48)
