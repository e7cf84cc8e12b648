"""Popularity end to end in process: synthetic set → dataset → training → prediction.

Sizes are small (160 videos) so the module runs in a few seconds; the benchmark uses bigger sets.
"""

from __future__ import annotations

import csv
import json
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
import yaml

pytest.importorskip("lightgbm", reason="needs the popularity extra")

from sightings.core.errors import BackendError, ConfigError, InputError
from sightings.solutions.popularity.artifacts import load_artifact
from sightings.solutions.popularity.dataset import (
    DatasetInputs,
    build_dataset,
    read_dataset,
    sidecar_path,
    write_dataset,
)
from sightings.solutions.popularity.features import feature_names
from sightings.solutions.popularity.predict import inputs_from_files, predict_run, render_json
from sightings.solutions.popularity.synthetic import SyntheticSet, make_synthetic_set
from sightings.solutions.popularity.train import TrainingConfig, train

N_VIDEOS = 160


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SyntheticSet:
    return make_synthetic_set(tmp_path_factory.mktemp("pop") / "set", n_videos=N_VIDEOS, seed=3)


@pytest.fixture(scope="module")
def dataset_file(synth: SyntheticSet) -> Path:
    result = build_dataset(DatasetInputs(synth.store, synth.snapshots, synth.videos, synth.channels))
    path, _ = write_dataset(result, synth.root / "dataset.parquet")
    return path


@pytest.fixture(scope="module")
def trained(dataset_file: Path) -> Path:
    config = TrainingConfig(dataset=str(dataset_file), out=str(dataset_file.parent / "artifacts"), run_id="run-a")
    return train(config).run_dir


def test_synthetic_runs_pass_the_content_validator(synth: SyntheticSet) -> None:
    pytest.importorskip("cv2", reason="the content validator loads the content modules (content extra)")
    from sightings.solutions.content.validate import validate_run

    runs = sorted(synth.store.glob("yt/*/*"))[:5]
    for run in runs:
        report = validate_run(run)
        assert report.ok, [str(i) for i in report.errors]


def test_dataset_is_deterministic_and_documented(synth: SyntheticSet, dataset_file: Path, tmp_path: Path) -> None:
    again = build_dataset(DatasetInputs(synth.store, synth.snapshots, synth.videos, synth.channels))
    other, side = write_dataset(again, tmp_path / "copy.parquet")
    assert other.read_bytes() == dataset_file.read_bytes()
    assert side.read_bytes() == sidecar_path(dataset_file).read_bytes()
    table = read_dataset(dataset_file)
    assert table.n_rows == N_VIDEOS
    meta = table.metadata
    assert meta["dataset_schema_version"] == "1" and len(meta["config_hash"]) == 64
    assert meta["inputs"]["snapshots"]["file"] == "snapshots.csv"
    assert "created" not in json.dumps(meta)
    assert json.loads(side.read_text()) == meta
    cols = list(table.columns)
    assert cols[:7] == ["platform_id", "video_id", "content_run_id", "channel_id", "snapshot1_at", "published_at",
                        "age_bucket"]  # fmt: skip
    assert cols[7 : 7 + len(feature_names())] == feature_names()
    assert list(table.columns["video_id"]) == sorted(table.columns["video_id"])
    counts = meta["counts"]
    assert counts["missing_channel"] > 0 and counts["channel_rows_after_snapshot1_skipped"] > 0
    assert counts["rows_without_target__views_21d"] > 0  # some videos stop being tracked early
    has21 = table.columns["has__views_21d"]
    assert np.isnan(table.columns["target__views_21d"][~has21]).all()
    assert not np.isnan(table.columns["target__views_21d"][has21]).any()
    missing = table.columns["channel_missing"] == 1.0
    assert np.isnan(table.columns["channel_subscribers_log1p"][missing]).all()


def _rewrite_csv(src: Path, dst: Path, change: object) -> None:
    with src.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = [r for r in (change(r) for r in rows) if r is not None]  # type: ignore[operator]
    with dst.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(out)


def test_no_future_value_enters_the_features(synth: SyntheticSet, tmp_path: Path) -> None:
    """Change everything after snapshot 1 (later counts, later channel rows): features stay identical."""
    base = build_dataset(DatasetInputs(synth.store, synth.snapshots, synth.videos, synth.channels))
    first: dict[str, str] = {}
    with synth.snapshots.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            first[r["video_id"]] = min(first.get(r["video_id"], r["snapshot_at"]), r["snapshot_at"])

    def inflate(r: dict[str, str]) -> dict[str, str]:
        if r["snapshot_at"] > first[r["video_id"]]:
            r = {**r, **{m: str(int(r[m]) * 1000 + 7) for m in ("views", "likes", "comments")}}
        return r

    def future_channel(r: dict[str, str]) -> dict[str, str]:
        if r["as_of"] > "2026-02-01":
            r = {**r, "subscribers": "123456789", "total_videos": "99999"}
        return r

    _rewrite_csv(synth.snapshots, tmp_path / "s.csv", inflate)
    _rewrite_csv(synth.channels, tmp_path / "c.csv", future_channel)
    changed = build_dataset(DatasetInputs(synth.store, tmp_path / "s.csv", synth.videos, tmp_path / "c.csv"))
    for name in feature_names():
        a, b = base.columns[name], changed.columns[name]
        assert [str(x) for x in a] == [str(x) for x in b], f"feature {name} changed with future data"
    assert base.columns["target__views_7d"] != changed.columns["target__views_7d"]  # the targets do see it


def test_bad_rows_are_counted(synth: SyntheticSet, tmp_path: Path) -> None:
    rows = list(csv.reader(synth.snapshots.open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    messy = [body[0], *body[:3], *reversed(body[3:30]), *body[30:]]  # duplicates + a reversed stretch
    for r in messy[40:45]:
        r[3] = "0"  # views that drop to 0 later (deleted)
    path = tmp_path / "messy.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *messy])
    shutil.copytree(synth.store / "yt" / "v00000", tmp_path / "rs" / "yt" / "v00000")
    result = build_dataset(DatasetInputs(tmp_path / "rs", path, synth.videos, None))
    c = result.counts
    assert c["duplicate_rows_dropped"] == 1 and c["out_of_order_rows"] > 0 and c["decreasing_pairs"] > 0
    assert c["dropped_no_content_run"] == len({r[1] for r in body}) - 1
    assert c["missing_channel"] == result.n_rows == 1
    assert result.metadata["counts"] == c


def test_training_beats_the_baseline_and_repeats(trained: Path, dataset_file: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    for name, t in metrics["targets"].items():
        model, base = t["model"]["overall"], t["baseline"]["overall"]
        assert model["mae"] < 0.75 * base["mae"], name
        assert model["spearman"] > base["spearman"] + 0.2, name
        assert set(t["model"]) == {"overall", "0-24h", "24-48h", "48-72h", ">72h"}
    assert len(metrics["targets"]) == 9
    config = yaml.safe_load((trained / "config.yaml").read_text())
    for key in ("seed", "git_commit", "package_versions", "schema_versions", "config_hash"):
        assert key in config
    assert config["package_versions"]["lightgbm"] != "absent"
    assert sorted(p.name for p in (trained / "models").iterdir())[0] == "comments_14d.txt"
    assert json.loads((trained / "feature_names.json").read_text())["features"] == feature_names()
    assert (trained / "plots" / "mae_vs_baseline.png").stat().st_size > 1000
    again = train(TrainingConfig(dataset=str(dataset_file), out=str(trained.parent), run_id="run-b", plots=False))
    assert (again.run_dir / "metrics.json").read_bytes() == (trained / "metrics.json").read_bytes()
    assert (again.run_dir / "models" / "views_7d.txt").read_bytes() == (
        trained / "models" / "views_7d.txt"
    ).read_bytes()


def test_prediction_json(trained: Path, synth: SyntheticSet) -> None:
    artifact = load_artifact(trained)
    run = next((synth.store / "yt" / "v00007").iterdir())
    video, snap, channel = inputs_from_files(
        "yt", "v00007", snapshots=synth.snapshots, videos=synth.videos, channels=synth.channels
    )
    text = render_json(predict_run(run, artifact, video=video, snapshot1=snap, channel=channel))
    assert text == render_json(predict_run(run, load_artifact(trained), video=video, snapshot1=snap, channel=channel))
    body = json.loads(text)
    assert list(body) == ["features_used", "model_info", "predictions", "run_id", "video_id"]
    assert body["video_id"] == "v00007" and body["run_id"] == run.name
    assert set(body["predictions"]) == {"views", "likes", "comments"}
    views = body["predictions"]["views"]
    assert set(views) == {"7d", "14d", "21d"}
    for horizon in views.values():
        c = horizon["confidence"]
        assert c["level"] == 0.8 and 0 <= c["low"] <= horizon["value"] <= c["high"]
    assert body["features_used"]["video_age_hours_at_snapshot1"] is not None
    assert body["model_info"]["artifact_run_id"] == "run-a" and "conformal" in body["model_info"]["interval_method"]
    bare = predict_run(run, artifact)  # no snapshot / metadata: NaN features, still a prediction
    assert bare["features_used"]["snapshot1_views_log1p"] is None and bare["predictions"]["views"]["7d"]["value"] >= 0


def test_artifact_of_another_schema_version_is_refused(trained: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(trained, old)
    config = yaml.safe_load((old / "config.yaml").read_text())
    config["schema_versions"]["feature"] = "0"
    (old / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(InputError) as err:
        load_artifact(old)
    assert "feature schema 0" in str(err.value) and "feature schema 1" in str(err.value)


def test_training_config_errors(tmp_path: Path, dataset_file: Path) -> None:
    from sightings.solutions.popularity.train import load_training_config

    bad = tmp_path / "t.yaml"
    bad.write_text("dataset: d.parquet\nmodel: {kind: xgboost}\n")
    with pytest.raises(ConfigError, match=r"model\.kind"):
        load_training_config(bad)
    bad.write_text("dataset: d.parquet\nhorizons: [30]\n")
    with pytest.raises(ConfigError, match="horizons"):
        load_training_config(bad)
    good = tmp_path / "g.yaml"
    good.write_text("dataset: data/d.parquet\nout: arts\n")
    cfg = load_training_config(good)
    assert cfg.dataset == str(tmp_path / "data" / "d.parquet") and cfg.out == str(tmp_path / "arts")


@pytest.mark.slow
def test_catboost_option(dataset_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("catboost", reason="needs the popularity-catboost extra")
    config = TrainingConfig.model_validate(
        {"dataset": str(dataset_file), "out": str(tmp_path), "run_id": "cb", "plots": False,
         "model": {"kind": "catboost", "params": {"iterations": 200}}, "metrics": ["views"], "horizons": [14]}
    )  # fmt: skip
    first = train(config)
    t = first.metrics["targets"]["views_14d"]
    assert t["model"]["overall"]["mae"] < 0.8 * t["baseline"]["overall"]["mae"]
    second = train(config.model_copy(update={"run_id": "cb2"}))
    assert second.metrics == first.metrics
    assert load_artifact(first.run_dir).target_model("views_14d").model.kind == "catboost"


class _FakeYouTube(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path != "/youtube/v3/channels" or query.get("key") != ["test-key"]:
            self.send_response(403)
            self.end_headers()
            self.wfile.write(b'{"error": "forbidden"}')
            return
        ids = query["id"][0].split(",")
        items = [
            {"id": i, "snippet": {"publishedAt": "2020-05-01T00:00:00Z"},
             "statistics": {"subscriberCount": "1500", "videoCount": "42", "hiddenSubscriberCount": i == "hidden"}}
            for i in ids if i != "unknown"
        ]  # fmt: skip
        body = json.dumps({"items": items}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_youtube() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeYouTube)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/youtube/v3"
    server.shutdown()
    server.server_close()


def test_youtube_client_against_a_local_fake(fake_youtube: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("httpx")
    from sightings.solutions.popularity.youtube_client import YouTubeChannelClient

    monkeypatch.setenv("SIGHTINGS_YOUTUBE_API_KEY", "test-key")
    at = datetime(2026, 3, 1, tzinfo=UTC)
    client = YouTubeChannelClient(base_url=fake_youtube, timeout_s=5, clock=lambda: at)
    ids = [f"c{i}" for i in range(60)] + ["hidden", "unknown"]  # two requests of ≤ 50 ids
    rows = client.fetch(ids)
    assert len(rows) == 61 and "unknown" not in rows
    assert rows["c0"].subscribers == 1500 and rows["c0"].total_videos == 42 and rows["c0"].as_of == at
    assert rows["c0"].created_at == datetime(2020, 5, 1, tzinfo=UTC)
    assert np.isnan(rows["hidden"].subscribers)
    with pytest.raises(BackendError, match="HTTP 403"):
        YouTubeChannelClient("wrong-key", base_url=fake_youtube).fetch(["c1"])
    with pytest.raises(BackendError, match="request failed"):
        YouTubeChannelClient("k", base_url="http://127.0.0.1:9/youtube/v3", timeout_s=1).fetch(["c1"])
    monkeypatch.delenv("SIGHTINGS_YOUTUBE_API_KEY")
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="SIGHTINGS_YOUTUBE_API_KEY"):
        YouTubeChannelClient()


def test_dataset_cli_fetches_missing_channels(
    fake_youtube: str, synth: SyntheticSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--youtube-api`: channels missing from the index come from the API; today's counts are not used for the
    (earlier) snapshots, the creation date is."""
    pytest.importorskip("httpx")
    from typer.testing import CliRunner

    from sightings.cli import app

    monkeypatch.setenv("SIGHTINGS_YOUTUBE_API_KEY", "test-key")
    args = ["popularity", "dataset", "--store", str(synth.store), "--snapshots", str(synth.snapshots),
            "--videos", str(synth.videos), "--channels", str(synth.channels), "--json"]  # fmt: skip
    plain = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a.parquet")])
    fetched = CliRunner().invoke(
        app,
        ["--set", "security.allow_private_urls=true",  # the fake YouTube API is on 127.0.0.1
         *args, "--out", str(tmp_path / "b.parquet"), "--youtube-api", "--youtube-url", fake_youtube],
    )  # fmt: skip
    assert plain.exit_code == 0 and fetched.exit_code == 0, fetched.output
    assert "YouTube API: " in fetched.stdout
    before = json.loads(plain.stdout[plain.stdout.index("{") :])["counts"]
    after = json.loads(fetched.stdout[fetched.stdout.index("{") :])["counts"]
    assert before["missing_channel"] > 0 and after.get("missing_channel", 0) == 0
    table = read_dataset(tmp_path / "b.parquet")
    gone = np.array([str(c).startswith("gone") for c in table.columns["channel_id"]])
    assert np.isnan(table.columns["channel_subscribers_log1p"][gone]).all()  # as_of = now: after snapshot 1
    assert not np.isnan(table.columns["channel_age_days"][gone]).any()
