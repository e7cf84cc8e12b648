"""`POST /v1/popularity/predict`: a run and a model by id inside the configured folders; no other paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

pytest.importorskip("lightgbm", reason="needs the popularity extra")

from sightings.api.app import create_app
from sightings.core.config import load_settings
from sightings.solutions.popularity.artifacts import load_artifact
from sightings.solutions.popularity.dataset import DatasetInputs, build_dataset, write_dataset
from sightings.solutions.popularity.predict import predict_run, render_json
from sightings.solutions.popularity.synthetic import make_synthetic_set
from sightings.solutions.popularity.train import TrainingConfig, train

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pop-api")
    data = make_synthetic_set(root / "set", n_videos=100, seed=9)
    shutil.move(str(data.store), str(root / "data" / "result_store"))
    ds, _ = write_dataset(
        build_dataset(DatasetInputs(root / "data" / "result_store", data.snapshots, data.videos, data.channels)),
        root / "ds.parquet",
    )
    config = TrainingConfig.model_validate(
        {"dataset": str(ds), "out": str(root / "data" / "popularity" / "artifacts"), "run_id": "m1", "plots": False,
         "metrics": ["views"], "horizons": [7, 14]}
    )  # fmt: skip
    train(config)
    return root


@pytest.fixture
def client(served: Path) -> TestClient:
    settings = load_settings(overrides={"data_dir": str(served / "data")}).settings
    return TestClient(create_app(settings))


def test_predict_by_ids(client: TestClient, served: Path) -> None:
    body = {
        "platform_id": "yt",
        "video_id": "v00004",
        "snapshot": {"snapshot_at": "2026-03-01T10:00:00Z", "views": 1200, "likes": 30, "comments": 4},
        "video": {"published_at": "2026-02-28T10:00:00Z", "language": "en", "category": "music", "channel_id": "ch1"},
        "channel": {"subscribers": 5000, "total_videos": 20, "created_at": "2024-01-01T00:00:00Z",
                    "as_of": "2026-03-02T00:00:00Z"},
    }  # fmt: skip
    r = client.post("/v1/popularity/predict", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["video_id"] == "v00004" and set(answer["predictions"]["views"]) == {"7d", "14d"}
    assert answer["model_info"]["artifact_run_id"] == "m1"
    assert answer["features_used"]["video_age_hours_at_snapshot1"] == 24.0
    assert answer["features_used"]["channel_subscribers_log1p"] is None  # as_of after the snapshot: not used
    assert answer["features_used"]["channel_age_days"] is not None
    assert r.text == client.post("/v1/popularity/predict", json={**body, "model": "m1"}).text
    # the same code path as the CLI: identical JSON for the same inputs
    run = next((served / "data" / "result_store" / "yt" / "v00004").iterdir())
    bare = client.post("/v1/popularity/predict", json={"platform_id": "yt", "video_id": "v00004"})
    assert bare.text == render_json(
        predict_run(run, load_artifact(served / "data" / "popularity" / "artifacts" / "m1"))
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"platform_id": "..", "video_id": "v00004"}, 422),
        ({"platform_id": "yt", "video_id": "v00004/../../x"}, 422),
        ({"platform_id": "yt", "video_id": "v00004", "model": "../m1"}, 422),
        ({"platform_id": "yt", "video_id": "v00004", "run_dir": "/etc"}, 422),
        ({"platform_id": "yt", "video_id": "nope"}, 404),
        ({"platform_id": "yt", "video_id": "v00004", "run_id": "nope"}, 404),
        ({"platform_id": "yt", "video_id": "v00004", "model": "nope"}, 404),
    ],
)
def test_bad_requests(client: TestClient, body: dict[str, str], status: int) -> None:
    r = client.post("/v1/popularity/predict", json=body)
    assert r.status_code == status, r.text
    assert "/tmp" not in r.text and str(Path.home()) not in r.text


def test_openapi_lists_the_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/popularity/predict" in spec["paths"]
    assert json.dumps(spec).count("PredictionResponse") >= 1


def test_non_finite_numbers_and_a_snapshot_before_publication_are_422(client: TestClient) -> None:
    """NaN broke the error reply itself (a 500); Infinity was taken as "unknown"; a negative age was predicted on."""
    base = '{"platform_id": "yt", "video_id": "v00004", "snapshot": {"snapshot_at": "2026-03-01T10:00:00Z", '
    for value in ("NaN", "Infinity", "1e999"):
        body = base + f'"views": {value}}}}}'
        r = client.post("/v1/popularity/predict", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, (value, r.text)
        assert r.json()["error"].startswith("snapshot.views: ")
    early = {
        "platform_id": "yt",
        "video_id": "v00004",
        "snapshot": {"snapshot_at": "2026-03-01T10:00:00Z", "views": 10},
        "video": {"published_at": "2026-03-05T00:00:00Z"},
    }
    r = client.post("/v1/popularity/predict", json=early)
    assert r.status_code == 422 and "is before publication" in r.json()["error"]
    half = {**early, "snapshot": {"snapshot_at": "2026-03-01T10:00:00Z", "views": 1.5}, "video": {}}
    r = client.post("/v1/popularity/predict", json=half)  # as the CLI's CSV reader says too
    assert r.status_code == 422 and r.json()["error"] == "snapshot.views: a count must be a whole number, got 1.5"
    whole = {**half, "snapshot": {"snapshot_at": "2026-03-01T10:00:00Z", "views": 12.0}}
    assert client.post("/v1/popularity/predict", json=whole).status_code == 200


def test_the_default_model_is_the_newest_trained_not_the_last_by_name(tmp_path: Path) -> None:
    import os

    from sightings.api.popularity import _newest

    for name, when in (("m1", 100), ("a-newer", 300), ("with space", 400), ("zz-older", 200)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text("x", encoding="utf-8")
        os.utime(tmp_path / name / "config.yaml", (when, when))
    # trained last among names a request could give ("with space" is none): not "zz-older", the last by name
    assert _newest(tmp_path, "config.yaml", "trained model", by_time=True) == "a-newer"
    assert _newest(tmp_path, "config.yaml", "content run") == "zz-older"  # run ids begin with their UTC time


def test_a_broken_model_on_the_server_is_a_500_naming_its_id_not_a_path(served: Path, client: TestClient) -> None:
    artifacts = served / "data" / "popularity" / "artifacts"
    shutil.copytree(artifacts / "m1", artifacts / "broken")
    try:
        (artifacts / "broken" / "intervals.json").unlink()  # was a 404, as if the client had named a wrong model
        r = client.post("/v1/popularity/predict", json={"platform_id": "yt", "video_id": "v00004", "model": "broken"})
        assert r.status_code == 500 and r.json()["error"].startswith("popularity model: model 'broken' cannot be")
        assert str(served) not in r.text
    finally:
        shutil.rmtree(artifacts / "broken")
