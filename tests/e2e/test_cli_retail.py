"""`sightings retail run/report/zones` end to end on a generated video with the fake detector and a chDB
warehouse in tmp. chDB binds one data folder per process, so each CLI call runs in its own subprocess.

The video is 20 s at 5 fps (100 frames); at 1 analysis fps frames 0, 5, …, 95 are analysed. Scripted boxes:
a seller at the counter the whole time (foot (150, 60)); a customer beside them in frames 10–79 (foot (160, 120),
~60 px away → one 14 s episode, t = 2 → 16 s); another customer at the checkout in frames 80–99 (a new track,
foot (290, 200)). One receipt at t = 17 s joins the checkout customer (no consultation).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from factories import make_video

pytest.importorskip("chdb", reason="needs the retail extra")
pytestmark = pytest.mark.e2e

VIDEO = "shop1_cam1_20260301-093000+0300.mp4"


def _script() -> dict[int, list[list[object]]]:
    script: dict[int, list[list[object]]] = {}
    for i in range(100):
        boxes: list[list[object]] = [[140, 10, 160, 60, "Person", 0.9]]
        if 10 <= i < 80:
            boxes.append([150, 70, 170, 120, "Person", 0.8])
        elif i >= 80:
            boxes.append([280, 150, 300, 200, "Person", 0.8])
        script[i] = boxes
    return script


def _config(path: Path) -> Path:
    config = {
        "detector": "fake",
        "tracker": "fake",
        "tiles": "none",
        "interpolate_s": 0,
        "detector_options": {"script": _script()},
        "cameras": {
            "cam1": {
                "zones": [
                    {"name": "desk", "kind": "counter", "points": [[0, 0], [320, 0], [320, 70], [0, 70]]},
                    {"name": "till", "kind": "checkout", "points": [[200, 100], [320, 100], [320, 240], [200, 240]]},
                ]
            }
        },
        "roles": {"min_seller_s": 10, "min_customer_s": 3},
        "interactions": {"distance_px": 150, "min_duration_s": 5, "gap_tolerance_s": 2},
        "purchases": {"window_before_s": 10, "window_after_s": 10},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _sightings(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sightings", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_retail_run_report_rerun_and_zones(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    make_video(videos / VIDEO, seconds=20, fps=5, gop=5)
    (videos / "shop1_cam2_20260301-100000+0300.mp4").write_bytes(b"")
    receipts = tmp_path / "receipts.csv"
    receipts.write_text("time,amount,register\n2026-03-01T09:30:17+03:00,450.5,till-1\n", encoding="utf-8")
    config = _config(tmp_path / "retail.yaml")
    warehouse = tmp_path / "warehouse"
    run = ("retail", "run", str(videos), "--store", "shop1", "--day", "2026-03-01", "--receipts", str(receipts),
           "--config", str(config), "--warehouse", str(warehouse), "--json")  # fmt: skip

    first = _sightings(*run)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["skipped"] == [
        {"path": str(videos / "shop1_cam2_20260301-100000+0300.mp4"), "reason": "zero-length file"}
    ]
    (video,) = out["videos"]
    assert video["run_id"] == "shop1/cam1/20260301T063000Z"
    seller = "cam1/20260301T063000Z/track-1"  # unnamed: one video's track
    assert (video["sellers"], video["role_method"], video["customers"]) == ([seller], "zones", 2)
    assert (video["interactions"], video["successful_interactions"], video["receipts_joined"]) == (1, 0, 1)
    assert video["interaction_ratio"] == 0.5
    assert video["step_s"] == 1.0  # 1 analysis fps

    again = _sightings(*run)  # re-running replaces the run's rows, never doubles them
    assert again.returncode == 0, again.stderr

    report = _sightings("retail", "report", "--day", "2026-03-01", "--store", "shop1", "--warehouse", str(warehouse),
                        "--json")  # fmt: skip
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    store = data["store_totals"]
    assert data["runs"] == 1
    assert (store["customers"], store["served_customers"], store["interactions"]) == (2, 1, 1)
    assert store["interaction_seconds"] == 14
    assert (store["purchases_without_consultation"], store["revenue_without_consultation"]) == (1, 450.5)
    assert store["avg_purchase_with_consultation"] is None
    assert data["sellers"][seller]["interactions"] == 1

    zones_png = tmp_path / "zones.png"
    drawn = _sightings("retail", "zones", "--camera", "cam1", "--snapshot", str(videos / VIDEO), "--out",
                       str(zones_png), "--config", str(config))  # fmt: skip
    assert drawn.returncode == 0, drawn.stderr
    assert zones_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    sparse = yaml.safe_load(config.read_text(encoding="utf-8")) | {"stride": 15}  # 5 fps: one frame every 3 s
    (tmp_path / "sparse.yaml").write_text(yaml.safe_dump(sparse), encoding="utf-8")
    every_3s = _sightings("retail", "run", str(videos), "--store", "shop1", "--config", str(tmp_path / "sparse.yaml"),
                          "--warehouse", str(tmp_path / "warehouse-sparse"))  # fmt: skip
    assert every_3s.returncode == 0, every_3s.stderr
    assert "analysed at one frame every 3 s, below 1 analysis fps" in every_3s.stderr


def test_retail_bad_inputs_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sightings.cli import app

    runner = CliRunner()
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "shop1_cam1_20260301-093000.mp4").write_bytes(b"x")
    result = runner.invoke(app, ["retail", "run", str(videos), "--store", "shop1", "--warehouse", str(tmp_path / "w")])
    assert result.exit_code == 2
    assert "shop1_cam1_20260301-093000.mp4: no time zone in the file name" in result.output
    receipts = tmp_path / "r.csv"
    receipts.write_text("time,amount,register\n2026-03-01T09:00:00+03:00,x,t\n", encoding="utf-8")
    (videos / "shop1_cam1_20260301-093000.mp4").rename(videos / "shop1_cam1_20260301-093000Z.mp4")
    result = runner.invoke(
        app,
        [
            "retail",
            "run",
            str(videos),
            "--store",
            "shop1",
            "--receipts",
            str(receipts),
            "--warehouse",
            str(tmp_path / "w"),
        ],
    )
    assert result.exit_code == 2 and "1 bad rows: row 2: amount 'x'" in result.output
    result = runner.invoke(app, ["retail", "zones", "--camera", "nope", "--snapshot", str(receipts)])
    assert result.exit_code == 3 and "no zones for camera 'nope'" in result.output
    result = runner.invoke(  # a store or day with no recordings in the folder: a typo, said, not an empty table
        app,
        ["retail", "run", str(videos), "--store", "shop9", "--day", "2026-03-01", "--warehouse", str(tmp_path / "w")],
    )
    assert result.exit_code == 4 and "no recordings of store 'shop9' on 2026-03-01 here" in result.output
    assert not (tmp_path / "w").exists()  # bad input fails before the warehouse is opened


def test_retail_archive_run_alerts_and_cvat_loop(tmp_path: Path) -> None:
    """`retail run --archive` downloads a day from the fake archive, then processes it; alerts; the CVAT loop.

    The recordings are from today: raw track points older than 3 days (by recording time) expire (TTL). The run
    needs its own process (chDB: one folder per process); the readers run in-process (nothing else is open here).
    """
    from datetime import UTC, datetime, timedelta, timezone

    from typer.testing import CliRunner

    from sightings.cli import app

    def cli(*args: str) -> Any:
        return CliRunner().invoke(app, list(args))

    from sightings.testing.fake_archive import FakeArchive

    msk = timezone(timedelta(hours=3))
    data = make_video(tmp_path / "src.mp4", seconds=20, fps=5, gop=5).read_bytes()
    config = _config(tmp_path / "retail.yaml")
    warehouse = tmp_path / "warehouse"
    shifts = tmp_path / "shifts.csv"
    day = datetime.now(UTC).date()
    shifts.write_text(f"seller_id,start,end\nanna,{day}T09:00:00+03:00,{day}T18:00:00+03:00\n", "utf-8")
    start = datetime(day.year, day.month, day.day, 9, 30, tzinfo=msk)
    stamp = f"{day:%Y%m%d}"
    with FakeArchive(token="tok") as archive:
        archive.add_record("cam1", "a1", start, start + timedelta(seconds=20), data)
        archive.add_record("cam1", "a2", start + timedelta(minutes=10), start + timedelta(minutes=10, seconds=20), data)
        archive.fail_midway["a1"] = 1
        run = _sightings("--set", "security.allow_private_urls=true",  # the fake archive is on 127.0.0.1
                         "retail", "run", str(tmp_path / "day"), "--archive", archive.url, "--camera", "cam1",
                         "--store", "shop1", "--day", str(day), "--archive-token", "tok", "--schedule",
                         str(shifts), "--config", str(config), "--warehouse", str(warehouse), "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert [Path(v["video"]).name for v in out["videos"]] == [
        f"shop1_cam1_{stamp}-093000+0300.mp4", f"shop1_cam1_{stamp}-094000+0300.mp4"]  # fmt: skip
    assert out["videos"][0]["sellers"] == ["anna"] and out["videos"][0]["role_method"] == "schedule"
    assert [(g["kind"], round(g["duration_s"])) for g in out["gaps"]] == [("between_files", 580)]
    assert sorted(p.name for p in (tmp_path / "day").iterdir()) == [
        f"shop1_cam1_{stamp}-093000+0300.mp4", f"shop1_cam1_{stamp}-094000+0300.mp4"]  # fmt: skip

    alerts = cli("retail", "alerts", "--day", str(day), "--warehouse", str(warehouse), "--json")
    assert alerts.exit_code == 0, alerts.output
    (alert,) = json.loads(alerts.stdout)["alerts"]
    assert (alert["kind"], alert["severity"], alert["value"]) == ("camera_off", "warning", 580.0)
    report = cli("retail", "report", "--day", str(day), "--warehouse", str(warehouse))
    assert "gaps: 1 (9.7 min without video)" in report.stdout and "alerts: 1" in report.stdout

    zipped, gt = tmp_path / "run.zip", tmp_path / "gt.txt"
    exported = cli("retail", "export-cvat", f"shop1/cam1/{stamp}T063000Z", "--format", "mot", "--out", str(zipped),
                   "--warehouse", str(warehouse))  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert "boxes, 3 tracks, mot" in exported.stdout
    imported = cli("retail", "import-gt", str(zipped), "--out", str(gt))
    assert imported.exit_code == 0, imported.output
    lines = gt.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("1,1,140,10,20,50,1,1,1") and len(lines) == 20 + 14 + 4

    missing = cli("retail", "export-cvat", "nope", "--out", str(tmp_path / "x.zip"), "--warehouse", str(warehouse))
    assert missing.exit_code == 4 and "no track points for this run" in missing.output


def test_retail_unreachable_archive_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sightings.cli import app

    config = tmp_path / "retail.yaml"
    config.write_text("archive: {retries: 0, url: 'http://127.0.0.1:9/api'}\n", encoding="utf-8")
    args = ["retail", "run", "--camera", "cam1", "--store", "shop1", "--day", "2026-03-01", "--config", str(config),
            "--warehouse", str(tmp_path / "w")]  # fmt: skip
    result = CliRunner().invoke(app, args)  # the outbound-URL guard refuses a loopback archive by default
    assert result.exit_code == 2 and "private, loopback" in result.output, result.output
    result = CliRunner().invoke(app, ["--set", "security.allow_private_urls=true", *args])
    assert result.exit_code == 5, result.output
    assert "error: http://127.0.0.1:9/api/cameras/cam1/records: cannot reach the camera archive" in result.output
    assert not (tmp_path / "w").exists()
    result = CliRunner().invoke(app, ["retail", "run", "--archive", "http://x", "--store", "shop1"])
    assert result.exit_code == 2 and "--archive needs --camera and --day" in result.output


def test_retail_accuracy_against_corrected_tracks(tmp_path: Path) -> None:
    """run → export-cvat → "correct" the tracks → accuracy: the run against itself deviates by 0 %; against a
    ground truth where both customers are one person, customers are +100 %. Recorded today (raw tracks live 3 days).
    """
    import io
    import zipfile
    from datetime import UTC, datetime

    stamp = f"{datetime.now(UTC):%Y%m%d}"
    videos = tmp_path / "videos"
    make_video(videos / f"shop1_cam1_{stamp}-093000+0300.mp4", seconds=20, fps=5, gop=5)
    receipts = tmp_path / "receipts.csv"
    day = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}"
    receipts.write_text(f"time,amount,register\n{day}T09:30:17+03:00,450.5,till-1\n", encoding="utf-8")
    config = _config(tmp_path / "retail.yaml")
    warehouse = tmp_path / "warehouse"
    run = _sightings("retail", "run", str(videos), "--store", "shop1", "--day", day, "--receipts", str(receipts),
                     "--config", str(config), "--warehouse", str(warehouse), "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    run_id = f"shop1/cam1/{stamp}T063000Z"
    exported = tmp_path / "run.zip"
    done = _sightings("retail", "export-cvat", run_id, "--format", "mot", "--out", str(exported),
                      "--warehouse", str(warehouse))  # fmt: skip
    assert done.returncode == 0, done.stderr

    def accuracy(gt: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return _sightings("retail", "accuracy", run_id, "--gt", str(gt), "--config", str(config),
                          "--warehouse", str(warehouse), *extra)  # fmt: skip

    itself = accuracy(exported, "--json")
    assert itself.returncode == 0, itself.stderr
    same = json.loads(itself.stdout)
    assert same["mean_abs_deviation_pct"] == 0.0 and same["receipts"] == 1 and same["same_config"] is True
    assert same["goal_pct"] == 5.0 and same["goal_met"] is True
    assert same["metrics"]["customers"]["ground_truth"] == 2
    assert same["with_true_identities"]["mean_abs_deviation_pct"] == 0.0

    with zipfile.ZipFile(exported) as zf:  # the annotator: "the checkout customer is the first customer"
        rows = zf.read("gt/gt.txt").decode().splitlines()
        labels = zf.read("gt/labels.txt")
    merged = [",".join(["2" if i == 1 and f == "3" else f for i, f in enumerate(r.split(","))]) for r in rows]
    fixed = tmp_path / "fixed.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("gt/gt.txt", "\n".join(merged) + "\n")
        zf.writestr("gt/labels.txt", labels)
    fixed.write_bytes(buf.getvalue())
    corrected = accuracy(fixed, "--json")
    assert corrected.returncode == 0, corrected.stderr
    report = json.loads(corrected.stdout)
    assert report["metrics"]["customers"] == {"ground_truth": 1.0, "pipeline": 2.0, "deviation_pct": 100.0}
    assert report["mean_abs_deviation_pct"] > 5 and report["goal_met"] is False
    # the run's boxes with the corrected identities: one customer, so the whole error is tracking's
    assert report["with_true_identities"] == {
        "metrics": {**report["with_true_identities"]["metrics"], "customers": 1.0},
        "mean_abs_deviation_pct": 0.0,
    }
    table = accuracy(fixed)
    assert table.returncode == 0 and "customers" in table.stdout and "(goal ≤ 5 %: not met)" in table.stdout
    assert "identities on the run's own boxes: 0.0 %" in table.stdout
    assert "points come from the run's identities" in table.stdout
    gt_txt = tmp_path / "gt.txt"  # what `import-gt` writes: a MOT text file gives the same answer
    assert _sightings("retail", "import-gt", str(fixed), "--out", str(gt_txt)).returncode == 0
    as_text = accuracy(gt_txt, "--json")
    assert as_text.returncode == 0 and json.loads(as_text.stdout)["metrics"] == report["metrics"], as_text.stderr
    # once the raw tracks have expired: the exported file and the frame rate give the same answer
    from_file = accuracy(fixed, "--pipeline", str(exported), "--fps", "5", "--json")
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout)["metrics"] == report["metrics"]
    no_fps = accuracy(fixed, "--pipeline", str(exported))
    assert no_fps.returncode != 0 and "--pipeline needs --fps" in no_fps.stderr + no_fps.stdout

    unknown = _sightings("retail", "accuracy", "shop1/cam1/nope", "--gt", str(fixed), "--warehouse", str(warehouse))
    assert unknown.returncode == 4 and "no such run" in unknown.stderr + unknown.stdout
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    bad = accuracy(broken)
    assert bad.returncode != 0 and "not a zip file" in bad.stderr + bad.stdout
    assert len((bad.stderr + bad.stdout).strip().splitlines()) == 1


def test_retail_camera_off_all_day_from_opening_hours(tmp_path: Path) -> None:
    """`health.opening_hours`: an archive day with no record for --camera is a whole day without video (a critical
    camera_off), and only that camera is expected (cam2 in the config is not this download's); a folder run expects
    every configured camera."""
    from sightings.testing.fake_archive import FakeArchive

    config = yaml.safe_load(_config(tmp_path / "base.yaml").read_text("utf-8"))
    config["cameras"]["cam2"] = {"zones": []}
    config["health"] = {"opening_hours": "09:00-21:00"}
    config["archive"] = {"time_zone": "Europe/Moscow"}
    path = tmp_path / "retail.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    common = ("--store", "shop1", "--day", "2026-03-01", "--config", str(path), "--warehouse", str(tmp_path / "w"))
    with FakeArchive(token="tok") as archive:
        archive_args = ("--archive", archive.url, "--camera", "cam1", "--archive-token", "tok")
        run = _sightings("--set", "security.allow_private_urls=true",  # the fake archive is on 127.0.0.1
                         "retail", "run", str(tmp_path / "day"), *archive_args, *common, "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["videos"] == [] and out["alerts"] == 1
    assert out["gaps"] == [{"camera": "cam1", "kind": "not_recorded", "started_at": "2026-03-01T09:00:00+03:00",
                            "duration_s": 43200.0}]  # fmt: skip
    alerts = _sightings("retail", "alerts", "--day", "2026-03-01", "--warehouse", str(tmp_path / "w"), "--json")
    (alert,) = json.loads(alerts.stdout)["alerts"]
    assert (alert["camera"], alert["kind"], alert["severity"]) == ("cam1", "camera_off", "critical")

    (tmp_path / "empty").mkdir()
    folder = _sightings("retail", "run", str(tmp_path / "empty"), *common)
    assert folder.returncode == 0, folder.stderr
    assert "gap cam1 not_recorded: 2026-03-01T09:00:00+03:00 for 43200 s" in folder.stderr
    assert "gap cam2 not_recorded" in folder.stderr
