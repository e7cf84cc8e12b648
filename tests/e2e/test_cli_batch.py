"""`sightings batch run/status` end to end: kill -9 mid-way, resume with the same command, check the final state;
bad inputs give one line and the documented exit code."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batch_factories import PLATFORM, VideoSet, fake_config, make_video_set, state_lines
from sightings.cli import app
from sightings.runner.manifest import MANIFEST_NAME, read_manifest, verify_outputs

pytestmark = pytest.mark.e2e
runner = CliRunner()
HAS_RAY = importlib.util.find_spec("ray") is not None


def _cmd(vs: VideoSet, out: Path, *extra: str, sleep_s: float) -> list[str]:
    config = fake_config(vs.root / "fake.json", sleep_s=sleep_s, transient=vs.transient)
    return [
        sys.executable, "-m", "sightings", "batch", "run", "--list", str(vs.list_path), "--job", "fake",
        "--config", str(config), "--out", str(out), "--backoff-s", "0.01", "--timeout-s", "60", "--quiet", *extra,
    ]  # fmt: skip


def _done_lines(out: Path) -> int:
    try:
        text = (out / "state.jsonl").read_text(encoding="utf-8")
    except FileNotFoundError:
        return 0
    return text.count('"status":"done"')


def _kill_resume_and_check(tmp_path: Path, n: int, kill_after: int, sleep_s: float, extra: list[str]) -> None:
    vs = make_video_set(tmp_path, n)
    out = tmp_path / "out"
    cmd = _cmd(vs, out, *extra, sleep_s=sleep_s)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _done_lines(out) < kill_after and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"the batch ended before the kill: {err.decode()[-500:]}"
    done_before = {r["video_id"] for r in state_lines_tolerant(out) if r["status"] == "done"}
    assert kill_after <= len(done_before) < len(vs.good)
    kept = {p: p.read_bytes() for p in out.rglob(MANIFEST_NAME)}

    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    # nothing redone that was complete: every manifest from before the kill is untouched
    assert all(p.read_bytes() == data for p, data in kept.items())
    lines = state_lines(out)
    for vid in vs.good:  # every good video done exactly once, its outputs whole
        runs = list((out / "runs" / "fake" / PLATFORM / vid).iterdir())
        assert len(runs) == 1, vid
        manifest = read_manifest(runs[0])
        assert manifest is not None and verify_outputs(runs[0], manifest) == [], vid
        assert sum(1 for r in lines if r["video_id"] == vid and r["status"] == "done") == 1, vid
    for vid in vs.corrupt:  # every corrupt one skipped, with its reason
        latest = [r for r in lines if r["video_id"] == vid][-1]
        assert latest["status"] == "skipped" and latest["error"]["kind"] == "corrupt-media", latest
        assert f"{vid}.mp4" in latest["error"]["message"]
        assert not (out / "runs" / "fake" / PLATFORM / vid).exists()  # no empty folder left behind
    retried = {r["video_id"] for r in lines if r["status"] == "retrying"}
    assert retried <= set(vs.transient)
    assert not [p for p in out.rglob("*") if ".partial" in p.name]

    status = subprocess.run(
        [sys.executable, "-m", "sightings", "batch", "status", str(out), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(status.stdout)
    assert summary["counts"] == {
        "done": len(vs.good),
        "empty": 0,
        "skipped": len(vs.corrupt),
        "failed": 0,
        "timeout": 0,
        "pending": 0,
    }
    assert summary["total"] == n and summary["progress"]["finished"]
    problems = summary["problems"]
    assert sorted(p["video"].split("/")[-1] for p in problems) == sorted(vs.corrupt)
    assert all(p["status"] == "skipped" and p["message"] for p in problems)


def state_lines_tolerant(out: Path) -> list[dict[str, str]]:
    rows = []
    for line in (out / "state.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def test_kill_and_resume_20_videos(tmp_path: Path) -> None:
    _kill_resume_and_check(tmp_path, 20, kill_after=6, sleep_s=0.1, extra=["--workers", "2"])


@pytest.mark.slow
def test_kill_and_resume_120_videos(tmp_path: Path) -> None:
    _kill_resume_and_check(tmp_path, 120, kill_after=40, sleep_s=0.05, extra=["--workers", "2"])


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="needs ray (pip install 'sightings[ray]')")
def test_kill_and_resume_120_videos_on_ray(tmp_path: Path) -> None:
    _kill_resume_and_check(tmp_path, 120, kill_after=40, sleep_s=0.05, extra=["--executor", "ray", "--workers", "2"])


def test_status_and_exit_code_when_some_videos_fail(tmp_path: Path) -> None:
    vs = make_video_set(tmp_path, 5, corrupt_every=5)
    config = fake_config(tmp_path / "f.json", error=["v001"])
    out = tmp_path / "out"
    args = ["batch", "run", "-l", str(vs.list_path), "-j", "fake", "-c", str(config), "-o", str(out)]
    result = runner.invoke(app, [*args, "--executor", "inline", "--retries", "0"])
    assert result.exit_code == 1, result.output
    assert "5 videos: 3 done, 0 empty, 1 skipped, 1 failed" in result.output
    status = runner.invoke(app, ["batch", "status", str(out), "--json"])
    assert status.exit_code == 0
    counts = json.loads(status.stdout)["counts"]
    assert counts["failed"] == 1 and counts["skipped"] == 1 and counts["done"] == 3
    table = runner.invoke(app, ["batch", "status", str(out)])
    assert table.exit_code == 0 and "step probe" in table.output
    assert sorted(p.name for p in (out / "runs" / "fake").glob("*/*")) == ["v000", "v002", "v003"]  # no empty ones
    typo = runner.invoke(app, ["batch", "status", str(out), "--job", "fakee"])
    assert typo.exit_code == 4 and "no 'fakee' job has run here (jobs: fake)" in typo.output


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        ("path,platform_id,video_id\na.mp4,yt,v1\nb.mp4,yt\n", 2, "videos.csv:3: expected 3 fields, got 2"),
        ("path,platform_id,video_id\na.mp4,yt,v1\nb.mp4,yt,v1\n", 2, "videos.csv:3: duplicate video yt/v1"),
        ("path,video_id\na.mp4,v1\n", 2, "videos.csv:1: missing column(s) platform_id"),
        ('path,platform_id,video_id\n"a.mp4,yt,v1\n', 2, "videos.csv:"),
        ("path,platform_id,video_id\na.mp4,yt,../x\n", 2, "videos.csv:2: video_id '../x' must be a plain name"),
    ],
)
def test_bad_list_gives_file_and_line(tmp_path: Path, content: str, code: int, message: str) -> None:
    (tmp_path / "videos.csv").write_text(content)
    result = runner.invoke(
        app, ["batch", "run", "-l", str(tmp_path / "videos.csv"), "-j", "fake", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == code, result.output
    assert message in result.output and result.output.startswith("error: ")
    assert len(result.output.strip().splitlines()) == 1


def test_bad_inputs_have_clear_errors(tmp_path: Path) -> None:
    vs = make_video_set(tmp_path, 2)
    base = ["batch", "run", "-l", str(vs.list_path)]
    missing = runner.invoke(app, ["batch", "run", "-l", str(tmp_path / "nope.csv"), "-j", "fake", "-o", "o"])
    assert missing.exit_code == 4 and "list file not found" in missing.output
    unknown = runner.invoke(app, [*base, "-j", "pets", "-o", str(tmp_path / "o")])
    assert unknown.exit_code == 3
    assert "unknown job 'pets'; known: content, fake, probe, retail, track" in unknown.output
    executor = runner.invoke(app, [*base, "-j", "fake", "-o", str(tmp_path / "o"), "--executor", "dask"])
    assert executor.exit_code == 3 and "unknown executor 'dask'; known: inline, local, ray" in executor.output
    (tmp_path / "a-file").write_text("x")
    unwritable = runner.invoke(app, [*base, "-j", "fake", "-o", str(tmp_path / "a-file" / "out")])
    assert unwritable.exit_code == 2 and "cannot write the output folder" in unwritable.output
    is_file = runner.invoke(app, [*base, "-j", "fake", "-o", str(tmp_path / "a-file")])
    assert is_file.exit_code == 2 and "the output folder is a file" in is_file.output
    bad_option = fake_config(tmp_path / "bad.json", sleep_s=-1)
    options = runner.invoke(app, [*base, "-j", "fake", "-c", str(bad_option), "-o", str(tmp_path / "o")])
    assert options.exit_code == 3 and "job fake: sleep_s" in options.output
    unknown_option = fake_config(tmp_path / "bad2.json", no_such=1)
    options = runner.invoke(app, [*base, "-j", "fake", "-c", str(unknown_option), "-o", str(tmp_path / "o")])
    assert options.exit_code == 3 and "no_such" in options.output
    status = runner.invoke(app, ["batch", "status", str(tmp_path)])
    assert status.exit_code == 4 and "no batch has run in this folder" in status.output
    assert not (tmp_path / "o" / "runs").exists()
