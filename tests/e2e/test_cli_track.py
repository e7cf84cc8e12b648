"""`sightings track` end to end through typer's runner, with a scripted detector on a generated video."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from factories import make_video
from sightings.cli.common import SightingsGroup
from sightings.core.registry import DETECTORS, TRACKERS, RegistryEntry
from sightings.testing.fakes import FakeDetector

pytest.importorskip("trackers")
pytest.importorskip("pyarrow")

from sightings.cli.track import track

pytestmark = pytest.mark.e2e
runner = CliRunner()


def _square(i: int) -> tuple[float, float, float, float, str, float]:
    x0, y0 = (i * 5) % 280, (i * 3) % 200
    return (x0, y0, x0 + 40, y0 + 40, "person", 0.9)


def square_detector() -> FakeDetector:
    """A detector that finds tests.factories' white square in each of the first 50 frames."""
    return FakeDetector({i: [_square(i)] for i in range(50)})


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setitem(DETECTORS._entries, "square", RegistryEntry("square", f"{__name__}:square_detector"))
    targets = {
        "bytetrack": "sightings.vision.track.bytetrack:ByteTrackTracker",
        "botsort": "sightings.vision.track.botsort:BotSortTracker",
    }
    for name, target in targets.items():
        if name not in TRACKERS:
            monkeypatch.setitem(TRACKERS._entries, name, RegistryEntry(name, target, "", "vision"))
    root = typer.Typer(cls=SightingsGroup, pretty_exceptions_enable=False)
    root.command("track")(track)

    @root.command("noop")
    def _noop() -> None:  # a second command keeps `track` a sub-command
        pass

    return root


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("v") / "square.mp4", seconds=2.0, gop=10)


@pytest.mark.parametrize(("preview", "extra"), [("preview.mp4", ["--stride", "5"]), ("preview.png", [])])
def test_track_writes_mot_parquet_and_preview(
    app: typer.Typer, video: Path, tmp_path: Path, preview: str, extra: list[str]
) -> None:
    import json

    import pyarrow.parquet as pq

    from sightings.evaluate.mot_io import read_mot

    out = tmp_path / "out"
    args = ["track", str(video), "--detector", "square", "--out", str(out), "--preview", str(tmp_path / preview)]
    res = runner.invoke(app, [*args, *extra, "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["tracks"] == 1
    mot = read_mot(out / "tracks.txt")
    assert len(mot) == summary["boxes"] == summary["frames"]
    assert mot.frame.min() == 1 and len(set(mot.id.tolist())) == 1
    table = pq.read_table(out / "tracks.parquet")
    assert table.num_rows == len(mot) and table.column("label").to_pylist()[0] == "person"
    assert (tmp_path / preview).stat().st_size > 1000
    assert not list(tmp_path.glob(".*partial*"))


def test_classes_filter_and_botsort(app: typer.Typer, video: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["track", str(video), "--detector", "square", "--tracker", "botsort", "--classes", "cat", "-o", str(tmp_path)],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "tracks.txt").read_text() == ""


@pytest.mark.parametrize(("flag", "name"), [("--tracker", "nope"), ("--detector", "nope")])
def test_unknown_backend_is_one_line_config_error(
    app: typer.Typer, video: Path, tmp_path: Path, flag: str, name: str
) -> None:
    res = runner.invoke(app, ["track", str(video), flag, name, "--out", str(tmp_path / "o")])
    assert res.exit_code == 3
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "unknown" in lines[0] and "known:" in lines[0]


def test_corrupt_video_and_bad_flags(app: typer.Typer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00garbage" * 500)
    res = runner.invoke(app, ["track", str(bad), "--detector", "square", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "error:" in res.output
    assert not (tmp_path / "o").exists()
    res = runner.invoke(app, ["track", str(bad), "--fps", "1", "--stride", "2", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2


def test_backward_check_can_be_turned_off(app: typer.Typer, video: Path, tmp_path: Path) -> None:
    """On by default with linking; `--no-backward-check` (or `--link-s 0`) keeps the tracker's own tracks."""
    import json

    for flags, expected in (([], True), (["--no-backward-check"], False), (["--link-s", "0"], False)):
        res = runner.invoke(app, ["track", str(video), "--detector", "square", "-o", str(tmp_path), *flags, "--json"])
        assert res.exit_code == 0, res.output
        summary = json.loads(res.stdout)
        assert summary["backward_check"] is expected and summary["tracks"] == 1


def test_detector_options_and_tiles_only_where_the_detector_takes_them(
    app: typer.Typer, video: Path, tmp_path: Path
) -> None:
    base = ["track", str(video), "--detector", "square", "--out", str(tmp_path / "o")]
    tiles = runner.invoke(app, [*base, "--tiles", "3y3"])  # the square detector (like centernet) takes no tiles
    assert tiles.exit_code == 2 and "the square detector takes no tiles" in tiles.output
    assert runner.invoke(app, [*base, "--tiles", "none", "--json"]).exit_code == 0
    ssd = runner.invoke(app, ["track", str(video), "--detector", "ssd-oidv4", "--tiles", "3y3", "--out", str(tmp_path)])
    assert ssd.exit_code == 2 and "expected grids like 2x2,2x3 or none, got '3y3'" in ssd.output
    option = runner.invoke(app, [*base, "--detector-option", "model_name=my-yolo"])  # passed on, and checked there
    assert option.exit_code == 3 and "model_name" in option.output, option.output
    bad = runner.invoke(app, [*base, "--detector-option", "model_name"])
    assert bad.exit_code == 2 and "--detector-option: expected KEY=VALUE" in bad.output


def test_an_output_path_that_cannot_be_written_fails_before_tracking(
    app: typer.Typer, video: Path, tmp_path: Path
) -> None:
    """`--out` or `--preview` under a file, or a `--preview` that is a folder: one line, exit 2, nothing written."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    (tmp_path / "taken.mp4").mkdir()
    out = tmp_path / "o"
    for flags, message in (
        (["--out", str(blocker / "o")], "a part of the path is a file"),
        (["--out", str(out), "--preview", str(blocker / "p.mp4")], "a part of the path is a file"),
        (["--out", str(out), "--preview", str(blocker / "p.png")], "a part of the path is a file"),
        (["--out", str(out), "--preview", str(tmp_path / "taken.mp4")], "is a folder"),
    ):
        res = runner.invoke(app, ["track", str(video), "--detector", "square", *flags])
        assert res.exit_code == 2, res.output
        assert message in res.output and "Traceback" not in res.output
        assert not out.exists()
