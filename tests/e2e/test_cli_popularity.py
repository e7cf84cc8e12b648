"""`sightings popularity synthetic | dataset | train | predict` through the CLI runner, and bad input exits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sightings.cli import app

pytest.importorskip("lightgbm", reason="needs the popularity extra")
pytestmark = pytest.mark.e2e

runner = CliRunner()


def test_cli_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "set"
    r = runner.invoke(app, ["popularity", "synthetic", "--out", str(data), "--videos", "120", "--seed", "5"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        ["popularity", "dataset", "--store", str(data / "result_store"), "--snapshots", str(data / "snapshots.csv"),
         "--videos", str(data / "videos.csv"), "--channels", str(data / "channels.csv"),
         "--out", str(tmp_path / "ds.parquet"), "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["rows"] == 120 and summary["counts"]["missing_channel"] >= 0
    assert Path(summary["metadata"]).name == "ds.meta.json"
    table = runner.invoke(
        app,
        ["popularity", "dataset", "--store", str(data / "result_store"), "--snapshots", str(data / "snapshots.csv"),
         "--videos", str(data / "videos.csv"), "--out", str(tmp_path / "ds2.parquet")],
    )  # fmt: skip
    assert table.exit_code == 0 and "missing_channel" in table.stdout and "120 rows" in table.stdout
    wrong_store = runner.invoke(  # content runs not where --store says: said, and no empty table written
        app,
        ["popularity", "dataset", "--store", str(data), "--snapshots", str(data / "snapshots.csv"),
         "--videos", str(data / "videos.csv"), "--out", str(tmp_path / "empty.parquet")],
    )  # fmt: skip
    assert wrong_store.exit_code == 2 and "no usable rows (dropped_no_content_run 120)" in wrong_store.stderr
    assert not (tmp_path / "empty.parquet").exists()
    config = tmp_path / "training.yaml"
    config.write_text("dataset: ds.parquet\nout: artifacts\nseed: 3\nplots: false\nmetrics: [views, likes]\n")
    r = runner.invoke(app, ["popularity", "train", "--config", str(config), "--run-id", "r1"])
    assert r.exit_code == 0, r.output
    assert "views_14d" in r.stdout and "MAE baseline" in r.stdout
    run_dir = next((data / "result_store" / "yt" / "v00003").iterdir())
    out = tmp_path / "pred.json"
    args = ["popularity", "predict", str(run_dir), "--model", str(tmp_path / "artifacts" / "r1"),
            "--snapshots", str(data / "snapshots.csv"), "--videos", str(data / "videos.csv"),
            "--channels", str(data / "channels.csv"), "--out", str(out)]  # fmt: skip
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert r.stdout == out.read_text()
    body = json.loads(r.stdout)
    assert set(body["predictions"]) == {"views", "likes"} and body["video_id"] == "v00003"
    assert runner.invoke(app, args).stdout == r.stdout  # deterministic


def test_cli_bad_inputs(tmp_path: Path) -> None:
    (tmp_path / "rs").mkdir()
    bad = tmp_path / "s.csv"
    bad.write_text("platform_id,video_id,snapshot_at,views,likes,comments\nyt,a,2026-01-01,lots,1,1\n")
    r = runner.invoke(
        app, ["popularity", "dataset", "--store", str(tmp_path / "rs"), "--snapshots", str(bad), "--out",
              str(tmp_path / "d.parquet")],
    )  # fmt: skip
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [f"error: {bad}: row 2, column 'views': not a number: 'lots'"]
    r = runner.invoke(app, ["popularity", "predict", str(tmp_path / "rs"), "--model", str(tmp_path / "none")])
    assert r.exit_code == 4 and "no such model artifact folder" in r.stderr
    cfg = tmp_path / "t.yaml"
    cfg.write_text("dataset: d.parquet\nsplit: {train: 0.9}\nbogus: 1\n")
    r = runner.invoke(app, ["popularity", "train", "--config", str(cfg)])
    assert r.exit_code == 3 and "bogus" in r.stderr
    cfg.write_text("dataset: d.parquet\n")
    r = runner.invoke(app, ["popularity", "train", "--config", str(cfg), "--run-id", "../../escape"])
    assert r.exit_code == 3 and "run_id" in r.stderr and not (tmp_path.parent / "escape").exists()
