"""`sightings media probe|sample` through the root CLI's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from factories import make_video, truncate_copy

pytestmark = pytest.mark.e2e
runner = CliRunner()


def _root_app() -> typer.Typer:
    """The real root app when it has the media group; else an equivalent root around the group alone."""
    try:
        from sightings.cli import app

        if any(group.name == "media" for group in app.registered_groups):
            return app
    except ImportError:  # root CLI not written yet
        pass
    from sightings.cli.common import SightingsGroup
    from sightings.cli.media import app as media_app

    root = typer.Typer(cls=SightingsGroup, pretty_exceptions_enable=False)
    root.add_typer(media_app, name="media")
    return root


APP = _root_app()


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("cli-media") / "clip.mp4", seconds=4.0, gop=50, bframes=3)


def test_probe_table(video: Path) -> None:
    result = runner.invoke(APP, ["media", "probe", str(video)])
    assert result.exit_code == 0, result.output
    for text in ("h264", "320 × 240", "25", "100", "4.000 s", "every 50 frames"):
        assert text in result.output


def test_probe_json(video: Path) -> None:
    result = runner.invoke(APP, ["media", "probe", str(video), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["codec"] == "h264" and info["frame_count"] == 100 and info["frame_count_exact"] is True


def test_probe_missing_file_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(APP, ["media", "probe", str(tmp_path / "nope.mp4")])
    assert result.exit_code == 4
    assert result.output.strip() == f"error: {tmp_path / 'nope.mp4'}: no such file"


def test_probe_text_file_exit_2(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_text("hello")
    result = runner.invoke(APP, ["media", "probe", str(fake)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "not a readable video" in result.output
    assert "Traceback" not in result.output


def test_sample_fps(video: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    result = runner.invoke(APP, ["media", "sample", str(video), "--fps", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 4 frames" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "frame_000000.jpg",
        "frame_000025.jpg",
        "frame_000050.jpg",
        "frame_000075.jpg",
        "metadata.json",
    ]
    meta = json.loads((out / "metadata.json").read_text())
    assert [f["index"] for f in meta["frames"]] == [0, 25, 50, 75]
    assert meta["sampling"]["jpeg_quality"] == 90  # media.jpeg_quality default


def test_sample_stride_png_json_window(video: Path, tmp_path: Path) -> None:
    out = tmp_path / "png"
    args = ["media", "sample", str(video), "--stride", "10", "--start", "1", "--end", "2.5"]
    result = runner.invoke(APP, [*args, "--out", str(out), "--format", "png", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["count"] == 4 and summary["sampling"]["stride"] == 10 and "frames" not in summary
    assert summary["metadata_file"] == str(out / "metadata.json")
    assert sorted(p.name for p in out.glob("*.png")) == [f"frame_{i:06d}.png" for i in (30, 40, 50, 60)]


def test_sample_quiet_prints_nothing(video: Path, tmp_path: Path) -> None:
    result = runner.invoke(APP, ["media", "sample", str(video), "--stride", "50", "-o", str(tmp_path / "q"), "-q"])
    assert result.exit_code == 0 and result.output == ""
    assert (tmp_path / "q" / "frame_000050.jpg").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ([], "exactly one of --fps or --stride"),
        (["--fps", "1", "--stride", "5"], "exactly one of --fps or --stride"),
        (["--fps", "0"], "must be > 0"),
        (["--stride", "0"], "must be >= 1"),
        (["--fps", "1", "--start", "3", "--end", "2"], "must be after --start"),
        (["--fps", "1", "--format", "gif"], "gif"),
    ],
)
def test_sample_bad_options(video: Path, tmp_path: Path, options: list[str], message: str) -> None:
    out = tmp_path / "never"
    result = runner.invoke(APP, ["media", "sample", str(video), "--out", str(out), *options])
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())  # the error box wraps long lines
    assert not out.exists()


def test_sample_existing_output_needs_overwrite(video: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    args = ["media", "sample", str(video), "--stride", "50", "--out", str(out)]
    refused = runner.invoke(APP, args)
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    assert (out / "keep.txt").exists()
    replaced = runner.invoke(APP, [*args, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert not (out / "keep.txt").exists() and (out / "frame_000050.jpg").exists()


def test_sample_truncated_leaves_no_folder(tmp_path: Path) -> None:
    cut = truncate_copy(make_video(tmp_path / "src.mkv", seconds=3.0, gop=25), tmp_path / "cut.mkv")
    out = tmp_path / "out"
    result = runner.invoke(APP, ["media", "sample", str(cut), "--stride", "5", "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {cut}: truncated")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_sample_stopped_by_sigterm_leaves_no_partial_folder(tmp_path: Path) -> None:
    """SIGTERM (kill, systemd, docker stop) mid-run stops as Ctrl-C does: one line, exit 143, nothing left behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    clip = make_video(tmp_path / "long.mp4", seconds=20.0, gop=50)
    out = tmp_path / "out"
    env = {**os.environ, "SIGHTINGS_DATA_DIR": str(tmp_path / "data")}
    args = [sys.executable, "-m", "sightings", "media", "sample", str(clip), "--stride", "1", "--format", "png"]
    proc = subprocess.Popen([*args, "--out", str(out), "-q"], stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:  # signal once frames are being written
        if any(any(p.iterdir()) for p in tmp_path.glob(".out.*.partial")):
            break
        time.sleep(0.01)
    assert proc.poll() is None, "sampling ended before it could be signalled"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert stderr == "error: terminated\n"
    assert not out.exists() and not list(tmp_path.glob(".out*"))
