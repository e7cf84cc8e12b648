"""`sightings pets watch` and `sightings demo pets` through the CLI runner: bad input, a file run, the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from installed_models import installed_in
from pets_factories import pet
from sightings.cli import app as cli_app

pytestmark = pytest.mark.e2e
pytest.importorskip("av")

runner = CliRunner()
SSD_MODELS_DIR = installed_in("ssd-mobilenetv2-oidv4")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--camera", "a", "--where", "55.7,37.6"], 2, "--camera: also needs --url"),
        (["--camera", "a", "--url", "x.mp4", "--where", "north"], 2, "--where: expected 'LAT,LON'"),
        ([], 2, "no camera"),
        (["--cameras", "/no/such.yaml"], 3, "camera list not found"),
        # the outbound-URL guard: a camera on a private network needs security.allowed_url_hosts
        (["--camera", "a", "--url", "rtsp://u:secret@10.0.0.5/s", "--where", "55.7,37.6"], 2, "a.url: URL host"),
        (["--camera", "a", "--url", "ftp://cams.example/s1", "--where", "55.7,37.6"], 2, "scheme 'ftp' is not allowed"),
    ],
)
def test_bad_watch_input_is_one_line_and_an_exit_code(args: list[str], code: int, message: str) -> None:
    result = runner.invoke(cli_app, ["pets", "watch", *args])
    assert result.exit_code == code, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert "secret" not in result.output


def test_watch_a_file_to_its_end_with_a_health_summary(tmp_path: Path) -> None:
    from sightings.testing.fake_stream import pet_walk_frames, write_video

    video = write_video(tmp_path / "cam.ts", pet_walk_frames(pet(1), width=160, height=120, seconds=2, fps=10), fps=10)
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: yard-1, url: '{video}', where: '55.75,37.61', district: Арбат}}\n")
    result = runner.invoke(
        cli_app,
        ["pets", "watch", "--cameras", str(cameras), "--detector", "fake", "--api", "http://127.0.0.1:9", "--json"],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("{") :])
    (camera,) = body["cameras"]
    assert camera["camera_id"] == "yard-1" and camera["state"] == "ended" and camera["frames_out"] == 20
    assert camera["dropped"] == 0 and body["sightings_sent"] == 0  # the fake detector sees nothing


def test_watch_with_no_readable_camera_exits_non_zero(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.expect_errors = True  # type: ignore[attr-defined]  # the reader logs the missing file
    missing = tmp_path / "gone.mp4"
    args = ["--camera", "c1", "--url", str(missing), "--where", "55.75,37.61", "--detector", "fake"]
    result = runner.invoke(cli_app, ["pets", "watch", *args, "--api", "http://127.0.0.1:9"])
    assert result.exit_code == 1, result.output
    assert "c1: failed" in result.output and "no camera could be read (c1:" in result.output


def test_a_demo_that_fails_leaves_no_temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = runner.invoke(cli_app, ["demo", "pets", "--no-serve", "--photo", str(empty), "--seen", str(empty)])
    assert result.exit_code == 2 and "empty.jpg: empty file" in result.output, result.output
    assert list(temp.iterdir()) == []


@pytest.mark.slow
@pytest.mark.shared_data
def test_demo_creates_a_lost_pet_watches_and_prints_the_page(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("lancedb")
    if SSD_MODELS_DIR is None:
        pytest.skip("the SSD model is not installed (`sightings models install`)")
    monkeypatch.setenv("SIGHTINGS_MODELS_DIR", str(SSD_MODELS_DIR))
    monkeypatch.setenv("SIGHTINGS_SHARED_DATA", str(shared_data))
    result = runner.invoke(cli_app, ["demo", "pets", "--no-serve", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("{") :])
    assert "/pets/lost/" in body["page_url"] and "no_detector" not in body["lost_post_flags"]
    assert body["sightings_sent"] >= 2 and body["seconds"] < 60
    sure = [m for m in body["matches"] if m["sure"]]
    assert sure and sure[0]["place"] == "camera yard-1"
