"""Tracklet linking by a person re-ID embedder (``link_embedder``) instead of body colours, with a tiny ONNX model
generated into a models directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx", reason="generating the test model needs the onnx package (dev extra)")
pytest.importorskip("onnxruntime")
pytest.importorskip("scipy")

from embed_factories import make_conv_model
from sightings.core.errors import NotFoundError


@pytest.fixture
def reid_models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models directory holding one tiny ONNX ``embed`` model, ``tiny-reid`` (conv 3×3 + ReLU + pooling)."""
    from sightings.core import config
    from sightings.models.store import ModelInput, ModelStore

    store = ModelStore(tmp_path / "models")
    model = make_conv_model(tmp_path / "reid.onnx", size=None, gap_inside=True)
    store.import_file(model, "tiny-reid", task="embed", input=ModelInput(width=32, height=64, layout="NCHW"))
    monkeypatch.setenv("SIGHTINGS_MODELS_DIR", str(store.root))
    config.set_config_file(None)  # reload the settings with the new models dir
    return store.root


def _scene() -> np.ndarray:
    image = np.full((120, 200, 3), 90, np.uint8)
    image[10:90, 20:50] = (220, 40, 40)  # a red person
    image[10:90, 120:150] = (40, 40, 220)  # a blue one
    return image


def test_collector_keeps_unit_embeddings_compared_by_cosine(reid_models_dir: Path) -> None:
    from sightings.vision.pipeline import create_link_embedder
    from sightings.vision.track.linking import AppearanceCollector, appearance_distance

    embedder = create_link_embedder("tiny-reid")
    assert embedder is not None and embedder.dim == 8
    collector = AppearanceCollector(embedder=embedder)
    image = _scene()
    boxes = [(1, (20, 10, 50, 90)), (2, (120, 10, 150, 90)), (3, (300, 10, 330, 90)), (4, (60, 60, 63, 63))]
    for _ in range(3):  # 3 lies outside the picture and 4 is 3 × 3 px: skipped, not an error
        collector.add_frame(image, boxes)
    ends = collector.descriptors()
    assert set(ends) == {1, 2} and collector.metric == "cosine"
    for end in ends.values():
        assert end.metric == "cosine" and end.start.shape == (8,)
        assert float(np.linalg.norm(end.start)) == pytest.approx(1.0, abs=1e-5)
    same = appearance_distance(ends[1].end, ends[1].start, "cosine")
    assert same == pytest.approx(0.0, abs=1e-5)
    assert appearance_distance(ends[1].end, ends[2].start, "cosine") > same


def test_a_missing_model_fails_before_any_frame_with_the_import_hint(reid_models_dir: Path, tmp_path: Path) -> None:
    from sightings.testing.fakes import FakeDetector, FakeTracker
    from sightings.vision.pipeline import track_video

    with pytest.raises(NotFoundError, match="sightings models import"):  # the video does not even exist
        track_video(
            tmp_path / "none.mp4", detector=FakeDetector(), tracker=FakeTracker(), link_s=3.0, link_embedder="nope"
        )


def test_cli_track_links_a_broken_walk_by_the_embedder(
    reid_models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("trackers")
    pytest.importorskip("pyarrow")
    from typer.testing import CliRunner

    from factories import walker_track_app

    video = tmp_path / "walk.mp4"
    app = walker_track_app(monkeypatch, video)
    base = ["track", str(video), "--detector", "walker", "--tiles", "none", "--link-s", "4"]
    res = CliRunner().invoke(app, [*base, "-o", str(tmp_path / "out"), "--link-embedder", "tiny-reid", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["link_embedder"] == "tiny-reid" and summary["tracks"] == 1
    missing = CliRunner().invoke(app, [*base, "-o", str(tmp_path / "out2"), "--link-embedder", "nope"])
    assert missing.exit_code != 0 and "sightings models import" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    assert not (tmp_path / "out2").exists()  # nothing written


def test_retail_config_takes_a_link_embedder() -> None:
    from sightings.solutions.retail.config import RetailConfig

    plain, reid = RetailConfig.model_validate({}), RetailConfig.model_validate({"link_embedder": "osnet-x025"})
    assert plain.link_embedder is None and reid.link_embedder == "osnet-x025"
    # an embedder is another analysis: finished videos run again
    assert plain.analysis_settings()["link_embedder"] is None
    assert reid.analysis_settings()["link_embedder"] == "osnet-x025"
    assert plain.analysis_hash() != reid.analysis_hash()


def test_track_job_takes_a_link_embedder(reid_models_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("trackers")
    pytest.importorskip("pyarrow")
    from factories import broken_walk_detector, make_video
    from sightings.core.protocols import BatchItem
    from sightings.runner.jobs import TrackJob

    plain = TrackJob(detector="fake", tracker="fake")
    assert plain.config()["link_embedder"] is None
    job = TrackJob(detector="fake", tracker="botsort", link_s=4.0, link_embedder="tiny-reid", tiles="none")
    assert job.config()["link_embedder"] == "tiny-reid"
    job._detector = broken_walk_detector()
    video = make_video(tmp_path / "walk.mp4", seconds=5.6, fps=10, gop=10)
    result = job.run(BatchItem(source=str(video), platform_id="local", video_id="walk"), tmp_path / "out")
    assert result.summary["tracks"] == 1  # the 3-s break linked
    assert job._link_embedder is not None and job._link_embedder.dim == 8


def test_retail_run_with_a_missing_embedder_fails_before_writing_anything(
    reid_models_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("chdb", reason="needs the retail extra")
    from datetime import date

    from factories import make_video
    from sightings.analytics.chdb_warehouse import ChdbWarehouse
    from sightings.solutions.retail.config import config_from_mapping
    from sightings.solutions.retail.folder_run import plan_folder, run_plan

    videos = tmp_path / "videos"
    make_video(videos / "shop1_cam1_20260301-093000+0300.mp4", seconds=2, fps=5, gop=5)
    receipts = tmp_path / "receipts.csv"
    receipts.write_text("time,amount,register\n2026-03-01T09:30:01+03:00,120.5,1\n")
    plan = plan_folder(videos, store="shop1", day=date(2026, 3, 1), receipts_path=receipts)
    config = config_from_mapping({"detector": "fake", "tracker": "fake", "link_embedder": "nope"}, where="test")
    with ChdbWarehouse(tmp_path / "warehouse") as wh:
        with pytest.raises(NotFoundError, match="sightings models import"):
            run_plan(plan, config=config, warehouse=wh)
        assert wh.query("SELECT count() AS n FROM receipts")[0]["n"] == 0
        assert wh.query("SELECT count() AS n FROM runs")[0]["n"] == 0
