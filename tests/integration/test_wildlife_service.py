"""The wildlife service on real embedded backends: enrol, calibrate, predict, review, sinks, migrations, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sightings.core.errors import ConfigError, InputError, NotFoundError
from wildlife_factories import animal, encode, enrolled_service, wildlife_settings

pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")


def test_wildlife_tables_match_their_migrations(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    from sightings.identity.catalog import SqlCatalog
    from sightings.solutions.wildlife.store import WildlifeStore
    from sightings.solutions.wildlife.store_models import VERSION_TABLE, WildlifeBase

    db = tmp_path / "c.sqlite"
    SqlCatalog(path=db).close()  # the catalog's tables first, as in the service
    store = WildlifeStore(path=db)
    assert store.revision() == "w0001"
    store.close()
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda n, t, _: t != "table" or (str(n).startswith("wildlife_") and n != VERSION_TABLE)
            },
        )
        assert compare_metadata(context, WildlifeBase.metadata) == []
    engine.dispose()


def test_enrol_predict_review_and_nothing_half_written(tmp_path: Path) -> None:
    service = enrolled_service(tmp_path, individuals=4, photos=3)
    lion = service.species("lion")
    assert lion.calibration is not None and lion.calibration.calibrated
    assert (lion.folder / "calibration.json").is_file() and lion.matcher.calibrator is not None
    again = service.enrol(encode(animal(0, noise=4)), species="lion", individual="L0")
    assert not again.added, "near-duplicate of an enrolled photo adds nothing"
    with pytest.raises(InputError, match="blurry"):
        service.enrol(encode(animal(0)[:, :, :] * 0 + 120), species="lion", individual="L0")
    with pytest.raises(InputError, match="not a valid individual"):
        service.enrol(encode(animal(9)), species="lion", individual="../etc")
    count = service.catalog.count_sightings()
    with pytest.raises(InputError):
        service.enrol(b"\xff\xd8\xff\xe0 truncated", species="lion", individual="L9")
    assert service.catalog.count_sightings() == count and "L9" not in [i.id for i in service.catalog.list_identities()]

    pred = service.predict(encode(animal(1, noise=8, shift=2)), species="lion", lat=-2.3, lon=34.8)
    assert pred.status == "accepted" and pred.individual_id == "L1" and pred.lat == -2.3
    stored = service.store.get_prediction(pred.id)
    assert stored.matches[0]["individual_id"] == "L1" and len(stored.projection or []) == 8
    review = service.review(pred.id, "confirm", reviewer="ana")
    assert review.agreed and review.embedding_id
    with pytest.raises(NotFoundError):
        service.review("0" * 32, "confirm")
    with pytest.raises(NotFoundError):
        service.predict(encode(animal(1)), species="orca")
    cal = service.calibrate("lion")
    assert cal.review_pairs >= 1
    # a photo the gate rejected as too dark is not enrolled by a review either (enrolment refuses it too)
    dark = service.predict(encode(np.full((200, 200, 3), 5, np.uint8)), species="lion")
    assert dark.status == "rejected" and dark.reason == "too_dark"
    count = service.catalog.count_sightings()
    with pytest.raises(InputError, match="too dark"):
        service.review(dark.id, "correct", individual="L0")
    assert service.catalog.count_sightings() == count and dark.id not in service.store.latest_reviews()
    assert service.review(dark.id, "reject").agreed  # the reviewer agrees it is unusable

    # reviewed again and again: the latest decision counts, and the photo sits under one individual at most
    again = service.predict(encode(animal(2, noise=8, shift=2)), species="lion")
    lion = service.species("lion")

    def enrolled_from_it() -> list[str | None]:
        return [
            s.identity_id
            for s in service.catalog.find_sightings(species="lion")
            if s.media_uri == f"prediction:{again.id}"
        ]

    first = service.review(again.id, "correct", individual="L0")
    assert enrolled_from_it() == ["L0"]
    moved = service.review(again.id, "correct", individual="L1")
    assert enrolled_from_it() == ["L1"] and first.embedding_id not in lion.matcher.gallery.ids()
    same = service.review(again.id, "confirm", individual="L1")  # the same individual: kept, not enrolled twice
    assert same.embedding_id == moved.embedding_id and enrolled_from_it() == ["L1"]
    service.review(again.id, "reject")
    assert enrolled_from_it() == [] and moved.embedding_id not in lion.matcher.gallery.ids()
    service.close()


def test_cli_enrol_predict_drift_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sightings.cli import app

    monkeypatch.setenv("SIGHTINGS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIGHTINGS_WILDLIFE__VECTOR_STORE", "numpy")
    photos = tmp_path / "photos"
    for ident in range(3):
        for k in range(3):
            path = photos / f"Lion{ident}" / f"{k}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode(animal(ident, noise=4 + 3 * k, shift=4 * k)))
    (photos / "Lion0" / "notes.txt").write_text("not a photo")
    (photos / "Lion1" / "dark.png").write_bytes(encode(np.full((200, 200, 3), 5, np.uint8)))  # refused: too dark
    runner = CliRunner()
    r = runner.invoke(
        app,
        ["wildlife", "enrol", str(photos), "--species", "lion", "--scientific-name", "Panthera leo", "--json", "-q"],
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["added"] + summary["near_duplicates"] == 9 and summary["added"] >= 6, summary
    assert summary["individuals"] == 3 and summary["calibration"]["calibrated"]
    dark = next(r for r in summary["refused"] if r["image"].endswith("dark.png"))
    assert dark["error"].startswith(f"{photos / 'Lion1' / 'dark.png'}: ")  # named by its file
    query = tmp_path / "q.png"
    query.write_bytes(encode(animal(2, noise=8, shift=2)))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 cut")
    r = runner.invoke(app, ["wildlife", "predict", str(query), str(bad), "--species", "lion", "--json"])
    assert r.exit_code == 2, r.output
    rows = json.loads(r.stdout)
    assert rows[0]["individual_id"] == "Lion2" and "bad.jpg" in rows[1]["error"]
    r = runner.invoke(app, ["wildlife", "predict", str(query), "--species", "lion"])
    assert r.exit_code == 0 and "prediction " in r.stdout  # the id `wildlife review` takes, without --json
    text = runner.invoke(app, ["wildlife", "drift"]).stdout
    assert "lion: " in text and re.search(r"\d\.\d{4,}", text) is None  # rounded for a person
    r = runner.invoke(app, ["wildlife", "drift", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["recent"] == 2  # the two answers for q.png
    out_csv, out_dwc = tmp_path / "p.csv", tmp_path / "dwc.csv"
    r = runner.invoke(app, ["wildlife", "export", "--csv", str(out_csv), "--dwc", str(out_dwc)])
    assert r.exit_code == 0, r.output
    assert "Lion2" in out_csv.read_text() and "Panthera leo" in out_dwc.read_text()
    r = runner.invoke(app, ["wildlife", "export", "--csv", str(tmp_path / "w.csv"), "--species", "whale"])
    assert r.exit_code == 4 and not (tmp_path / "w.csv").exists()  # an unknown species is no empty file
    r = runner.invoke(app, ["wildlife", "enrol", str(tmp_path / "none"), "--species", "lion"])
    assert r.exit_code == 4 and "no such file or folder" in r.output


def test_enrol_from_csv(tmp_path: Path) -> None:
    from sightings.solutions.wildlife.enrolment import enrolment_list

    (tmp_path / "a.png").write_bytes(encode(animal(1)))
    (tmp_path / "list.csv").write_text("image,individual\na.png,Ayo\n")
    assert enrolment_list(tmp_path / "list.csv") == [((tmp_path / "a.png").resolve(), "Ayo")]
    (tmp_path / "bad.csv").write_text("image,individual\nmissing.png,Ayo\n")
    with pytest.raises(NotFoundError, match="line 2"):
        enrolment_list(tmp_path / "bad.csv")
    (tmp_path / "nohead.csv").write_text("a.png,Ayo\n")
    with pytest.raises(InputError, match="header"):
        enrolment_list(tmp_path / "nohead.csv")


def test_lancedb_default_gallery(tmp_path: Path) -> None:
    from sightings.solutions.wildlife.service import WildlifeService

    pytest.importorskip("lancedb")
    service = WildlifeService(wildlife_settings(tmp_path, **{"wildlife.vector_store": "lancedb"}))
    for k in range(2):
        service.enrol(encode(animal(3, noise=4 + 4 * k)), species="seal", individual="S3")
    pred = service.predict(encode(animal(3, noise=9)), species="seal")
    assert pred.best_candidate == "S3"
    assert (service.root / "seal" / "gallery").is_dir()
    service.close()


def test_switching_rerank_off_gives_uncalibrated_answers_until_recalibrated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sightings.solutions.wildlife.service import WildlifeService

    enrolled_service(tmp_path, individuals=3, photos=3).close()  # calibrated on two-stage scores
    fast = WildlifeService(wildlife_settings(tmp_path, **{"wildlife.rerank": False}))
    with caplog.at_level("WARNING", logger="sightings.solutions.wildlife.species"):
        pred = fast.predict(encode(animal(1, noise=8, shift=2)), species="lion")
    assert "fitted for 'two-stage' scores" in caplog.text
    assert pred.matches and pred.matches[0]["calibrated"] is False
    # no calibration for this score: nothing accepted, no confidence, and the sentence says why (not "97 %")
    assert pred.status == "unknown" and pred.individual_id is None and pred.confidence is None
    assert pred.best_candidate == "L1" and pred.message.startswith("Not calibrated yet: the closest is L1 (score ")
    assert "not a probability" in pred.message and "sightings wildlife calibrate lion" in pred.message
    from sightings.solutions.wildlife.service import prediction_message

    assert prediction_message(pred, lambda text: text) == pred.message  # said again from the record: the same
    fast.calibrate("lion")  # refits for the cosine score of the fast path
    pred = fast.predict(encode(animal(1, noise=8, shift=2)), species="lion")
    assert pred.matches[0]["calibrated"] is True and pred.status == "accepted" and pred.confidence is not None
    fast.close()


def test_a_calibration_that_cannot_reach_the_precision_target_says_so() -> None:
    from sightings.solutions.wildlife.species import SpeciesCalibration

    base = {"gallery_images": 10, "identities": 3, "ood_threshold": None, "nn_distance_median": None, "pairs": 9,
            "positives": 3, "review_pairs": 0, "calibrated": True, "open_set_threshold": 0.92,
            "baseline_confidence": 0.5}  # fmt: skip
    missed = SpeciesCalibration(**base, precision_target=0.95, target_reached=False)
    assert missed.warning is not None and missed.warning.startswith("no confidence threshold reaches 95% precision")
    assert SpeciesCalibration(**base, precision_target=0.95, target_reached=True).warning is None
    assert SpeciesCalibration(**base).warning is None  # a gate.json written before the field existed


def test_reindex_after_a_rerank_size_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sightings.cli import app
    from sightings.solutions.wildlife.service import WildlifeService

    enrolled_service(tmp_path, individuals=3, photos=2, **{"wildlife.rerank_max_side": 400}).close()
    with caplog.at_level("WARNING", logger="sightings.identity.matcher"):
        service = WildlifeService(wildlife_settings(tmp_path, **{"wildlife.rerank_max_side": 96}))
        local = service.species("lion").matcher.local_store
    assert local is not None and local.stale and "max_side=400" in caplog.text and "max_side=96" in caplog.text
    before = {eid: local.get(eid).keypoints_xy.shape for eid in local.ids()}
    service.close()

    monkeypatch.setenv("SIGHTINGS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIGHTINGS_WILDLIFE__VECTOR_STORE", "numpy")
    monkeypatch.setenv("SIGHTINGS_WILDLIFE__RERANK_MAX_SIDE", "96")
    r = CliRunner().invoke(app, ["wildlife", "reindex", "lion", "-q"])
    assert r.exit_code == 0, r.output
    assert "6 gallery photo(s) extracted again" in r.stdout
    r = CliRunner().invoke(app, ["wildlife", "reindex", "orca", "-q"])
    assert r.exit_code == 4 and "species orca: no such species" in r.output

    service = WildlifeService(wildlife_settings(tmp_path, **{"wildlife.rerank_max_side": 96}))
    lion = service.species("lion")
    assert lion.matcher.local_store is not None and not lion.matcher.local_store.stale
    after = {eid: lion.matcher.local_store.get(eid).keypoints_xy.shape for eid in before}
    assert after != before, "features made at 96 px, not the 400-px ones"
    assert lion.matcher.calibrator is not None  # re-calibrated on the new scores
    assert service.predict(encode(animal(1, noise=8, shift=2)), species="lion").best_candidate == "L1"
    service.close()
    fast = WildlifeService(wildlife_settings(tmp_path, **{"wildlife.rerank": False}))
    with pytest.raises(ConfigError, match="re-ranking is off"):
        fast.reindex("lion")
    fast.close()


def test_the_stored_query_photo_is_the_uploaded_jpeg_when_it_was_not_shrunk(tmp_path: Path) -> None:
    service = enrolled_service(tmp_path, individuals=2, photos=2)
    jpeg = encode(animal(1, noise=8, shift=2), "JPEG", quality=90)
    pred = service.predict(jpeg, species="lion")
    assert service.query_image_path(pred.id).read_bytes() == jpeg
    png = encode(animal(1, noise=8, shift=2))
    stored = service.query_image_path(service.predict(png, species="lion").id).read_bytes()
    assert stored.startswith(b"\xff\xd8")  # a PNG upload is stored as JPEG
    big = encode(np.kron(animal(1), np.ones((10, 10, 1), np.uint8)), "JPEG", quality=90)  # 1280 px > max_side
    shrunk = service.query_image_path(service.predict(big, species="lion").id).read_bytes()
    assert shrunk != big and shrunk.startswith(b"\xff\xd8")
    service.close()


def test_two_services_on_one_folder_see_each_others_enrolments_and_calibration(tmp_path: Path) -> None:
    """Two API worker processes share the data dir: what one enrols or re-calibrates, the other answers with."""
    from sightings.solutions.wildlife.service import WildlifeService

    pytest.importorskip("lancedb")
    first = enrolled_service(tmp_path, individuals=3, photos=3, **{"wildlife.vector_store": "lancedb"})
    second = WildlifeService(wildlife_settings(tmp_path, **{"wildlife.vector_store": "lancedb"}))
    assert second.predict(encode(animal(1, noise=8, shift=2)), species="lion").individual_id == "L1"  # loads its copy
    unseen = second.predict(encode(animal(5, noise=8, shift=2)), species="lion")
    assert unseen.best_candidate != "L5"
    for photo in range(3):
        first.enrol(encode(animal(5, noise=4 + 3 * photo, shift=4 * photo)), species="lion", individual="L5")
    calibrator_before = second.species("lion").matcher.calibrator
    first.calibrate("lion")
    pred = second.predict(encode(animal(5, noise=8, shift=2)), species="lion")
    assert pred.best_candidate == "L5"  # the other service's rows, found by this one's next search
    assert second.species("lion").matcher.calibrator is not calibrator_before  # and its new calibration, loaded
    first.close()
    second.close()
