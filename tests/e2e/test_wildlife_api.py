"""The wildlife API through HTTP (TestClient): enrol, predict single/batch, review, drift, export, keys, bad input."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from sightings.api.app import create_app
from wildlife_factories import API_KEY, animal, encode, enrolled_service

pytestmark = pytest.mark.e2e
pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any]]:
    service = enrolled_service(tmp_path_factory.mktemp("wildlife-api"))
    app = create_app(service.settings)
    app.state.wildlife = service
    with TestClient(app) as client:
        yield client, service
    service.close()


def _photo(seed: int, fmt: str = "PNG") -> bytes:
    return encode(animal(seed, noise=8, shift=2), fmt)


def _predict(client: TestClient, data: bytes, name: str = "p.jpg", species: str = "lion") -> Any:
    return client.post("/v1/predict-single", files={"file": (name, data)}, data={"species": species})


def test_predict_single_returns_top_k_with_calibrated_confidence_and_evidence(api: Any) -> None:
    client, service = api
    before = service.store.count_predictions()
    r = _predict(client, _photo(2))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "accepted" and body["individual_id"] == "L2"
    assert body["matches"][0]["calibrated"] is True and 0 <= body["confidence"] <= 1
    assert len(body["matches"]) <= 5 and body["matches"][0]["thumbnail_url"].startswith("/v1/gallery/lion/")
    assert [g["code"] for g in body["gate"]][:4] == ["too_small", "too_dark", "too_bright", "too_blurry"]
    assert service.store.count_predictions() == before + 1
    evidence = client.get(body["matches"][0]["evidence_url"])
    assert evidence.status_code == 200 and evidence.content.startswith(b"\x89PNG")
    assert client.get(body["matches"][0]["thumbnail_url"]).status_code == 200
    assert client.get(body["photo_url"]).headers["content-type"] == "image/jpeg"
    assert client.get(f"/v1/predictions/{body['id']}").json()["id"] == body["id"]


def test_rejections_carry_a_reason_code_and_a_sentence(api: Any) -> None:
    client, _ = api
    cases = {
        "too_dark": np.full((120, 120, 3), 8, np.uint8),
        "too_bright": np.full((120, 120, 3), 250, np.uint8),
        "too_blurry": np.full((120, 120, 3), 120, np.uint8),
        "too_small": animal(1, size=32),
    }
    for code, image in cases.items():
        body = _predict(client, encode(image)).json()
        assert body["status"] == "rejected" and body["reason"] == code, body
        assert body["message"].endswith(".") and body["matches"] == []
    stripes = np.full((128, 128, 3), 90, np.uint8)
    stripes[:, ::4] = (255, 40, 40)
    body = _predict(client, encode(stripes)).json()
    assert body["reason"] == "out_of_distribution" and "lion photos in the gallery" in body["message"]


def test_sentences_in_the_pages_language(api: Any) -> None:
    """?lang=ru says each answer again from the Russian catalogue (the /wildlife page asks in its own language);
    the stored sentence, and the default answer, stay English."""
    client, _ = api
    dark = encode(np.full((120, 120, 3), 8, np.uint8))
    ru = client.post(
        "/v1/predict-single", params={"lang": "ru"}, files={"file": ("d.png", dark)}, data={"species": "lion"}
    ).json()
    assert ru["message"] == "Фото слишком тёмное, отметин не видно (яркость 8 из 255, нужно 35)."
    again = client.get(f"/v1/predictions/{ru['id']}").json()
    assert again["message"].startswith("The photo is too dark")
    known = client.post(
        "/v1/predict-single", params={"lang": "ru"}, files={"file": ("k.png", _photo(2))}, data={"species": "lion"}
    ).json()
    assert known["status"] == "accepted" and known["message"].startswith("Скорее всего, это L2 (уверенность ")
    english = client.get(f"/v1/predictions/{known['id']}", params={"lang": "en"}).json()["message"]
    assert english == client.get(f"/v1/predictions/{known['id']}").json()["message"]  # said again = as stored


def test_png_and_webp_accepted_heic_refused_with_415(api: Any) -> None:
    client, _ = api
    assert _predict(client, encode(animal(3, noise=8), "PNG"), "a.png").json()["individual_id"] == "L3"
    assert _predict(client, encode(animal(3, noise=8), "WEBP", lossless=True), "a.webp").status_code == 200
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    r = _predict(client, heic, "a.heic")
    assert r.status_code == 415 and "heif images are not supported (supported: bmp, gif, jpeg" in r.json()["error"]
    text = _predict(client, b"just some notes, not a picture", "a.jpg")
    assert text.status_code == 422 and text.json()["error"] == "a.jpg: not an image (unrecognised content)"


def test_truncated_jpeg_is_422_and_nothing_is_stored(api: Any) -> None:
    client, service = api
    before = service.store.count_predictions()
    data = _photo(4, "JPEG")
    r = _predict(client, data[: len(data) // 2], "cut.jpg")
    assert r.status_code == 422 and "cut.jpg" in r.json()["error"]
    assert service.store.count_predictions() == before


def test_forty_megapixel_photo_is_downscaled_on_decode(api: Any) -> None:
    client, _ = api
    big = np.kron(animal(5, size=64), np.ones((114, 114, 1), np.uint8))[:5472, :7296]  # 39.9 MP
    data = encode(big, "JPEG", quality=60)
    r = _predict(client, data, "big.jpg")
    assert r.status_code == 200, r.text
    photo = client.get(r.json()["photo_url"]).content
    from PIL import Image

    assert max(Image.open(io.BytesIO(photo)).size) <= 1024


def test_upload_over_the_limit_is_413(tmp_path: Path) -> None:
    from wildlife_factories import wildlife_settings

    settings = wildlife_settings(tmp_path, **{"server.max_upload_bytes": 1000})
    with TestClient(create_app(settings)) as client:
        r = _predict(client, _photo(1))
        assert r.status_code == 413 and "limit" in r.json()["error"]


def test_a_batch_image_over_the_upload_limit_fails_alone_with_413(tmp_path: Path) -> None:
    """The batch route read each file up to the whole batch's limit: an image over ``server.max_upload_bytes``
    was predicted (and stored) there, though refused on every other upload route."""
    from sightings.solutions.wildlife.service import WildlifeService
    from wildlife_factories import wildlife_settings

    service = WildlifeService(wildlife_settings(tmp_path, **{"server.max_upload_bytes": 60_000}))
    service.enrol(encode(animal(0)), species="lion", individual="L0", where="L0.png")
    app = create_app(service.settings)
    app.state.wildlife = service
    small = encode(animal(0, noise=4), "JPEG")
    big = small + b"\0" * 70_000  # a JPEG with trailing bytes still decodes
    try:
        with TestClient(app) as client:
            files = [("files", ("big.jpg", big)), ("files", ("small.jpg", small))]
            lines = _lines(client.post("/v1/predict-batch", files=files, data={"species": "lion"}))
            zipped = {"files": ("b.zip", _zip({"big.jpg": big}))}
            lines += _lines(client.post("/v1/predict-batch", files=zipped, data={"species": "lion"}))
    finally:
        service.close()
    assert [(x["filename"], x["ok"], x["status_code"]) for x in lines] == [
        ("big.jpg", False, 413),
        ("small.jpg", True, None),
        ("big.jpg", False, 413),
    ]
    assert lines[0]["error"] == "big.jpg: over the upload limit of 60000 bytes"


def test_unknown_species_and_individual_are_404(api: Any) -> None:
    client, _ = api
    assert _predict(client, _photo(1), species="orca").status_code == 404
    r = client.get("/v1/individuals/Nobody")
    assert r.status_code == 404 and "Nobody" in r.json()["error"]
    assert client.get("/v1/individuals/bad%20id").status_code == 422


def _lines(r: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in r.text.splitlines() if line.strip()]


def test_batch_streams_one_line_per_image_and_a_bad_image_fails_alone(api: Any) -> None:
    client, service = api
    before = service.store.count_predictions()
    files = [
        ("files", ("a.jpg", _photo(0))),
        ("files", ("bad.jpg", b"not an image")),
        ("files", ("c.png", encode(animal(1, noise=8)))),
    ]
    r = client.post("/v1/predict-batch", files=files, data={"species": "lion"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = _lines(r)
    assert [x["ok"] for x in lines] == [True, False, True]
    assert lines[1]["status_code"] == 422 and "bad.jpg" in lines[1]["error"]
    assert lines[0]["prediction"]["individual_id"] == "L0" and lines[2]["prediction"]["individual_id"] == "L1"
    assert service.store.count_predictions() == before + 2


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_batch_zip_and_unsafe_zips_are_refused_whole(api: Any) -> None:
    client, service = api
    ok = _zip({"x/one.jpg": _photo(2), "__MACOSX/._one.jpg": b"junk", "two.png": encode(animal(3, noise=8))})
    lines = _lines(client.post("/v1/predict-batch", files={"files": ("b.zip", ok)}, data={"species": "lion"}))
    assert [x["filename"] for x in lines] == ["x/one.jpg", "two.png"] and all(x["ok"] for x in lines)
    before = service.store.count_predictions()
    traversal = _zip({"good.jpg": _photo(1), "../../etc/evil.jpg": _photo(2)})
    r = client.post("/v1/predict-batch", files={"files": ("t.zip", traversal)}, data={"species": "lion"})
    assert r.status_code == 422 and "path traversal" in r.json()["error"]
    bomb = _zip({"bomb.jpg": b"\x00" * 50_000_000})
    r = client.post("/v1/predict-batch", files={"files": ("bomb.zip", bomb)}, data={"species": "lion"})
    assert r.status_code == 413 and "zip bomb" in r.json()["error"]
    r = client.post("/v1/predict-batch", files={"files": ("e.zip", _zip({}))}, data={"species": "lion"})
    assert r.status_code == 422 and "empty batch" in r.json()["error"]
    r = client.post("/v1/predict-batch", files={"files": ("z.zip", b"PK\x03\x04garbage")}, data={"species": "lion"})
    assert r.status_code == 422 and "zip" in r.json()["error"]
    assert service.store.count_predictions() == before, "a refused batch stores nothing"


def test_empty_batch_without_files_is_4xx(api: Any) -> None:
    client, _ = api
    r = client.post("/v1/predict-batch", data={"species": "lion"})
    assert 400 <= r.status_code < 500


def test_write_endpoints_need_an_api_key(api: Any) -> None:
    client, _ = api
    files = [("files", ("n.png", encode(animal(40, noise=3))))]
    form = {"species": "lion", "individual_id": "Newbie"}
    assert client.post("/v1/individuals", files=files, data=form).status_code == 401
    assert client.post("/v1/individuals", files=files, data=form, headers={"X-API-Key": "wrong"}).status_code == 401
    r = client.post("/v1/review", json={"prediction_id": "x", "decision": "reject"})
    assert r.status_code == 401


def test_enrol_an_individual_then_find_it(api: Any) -> None:
    client, service = api
    files = [("files", (f"n{i}.png", encode(animal(41, noise=3 + i, shift=2 * i)))) for i in range(2)]
    form = {"species": "lion", "individual_id": "Newbie", "label": "Newbie the lion"}
    r = client.post("/v1/individuals", files=files, data=form, headers=KEY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "Newbie" and body["species"] == "lion" and len(body["photos"]) == 2
    assert client.get("/v1/individuals/Newbie").json()["label"] == "Newbie the lion"
    service.species("lion").calibration = None  # the new pattern is out of the calibrated distribution: skip OOD
    try:
        hit = _predict(client, encode(animal(41, noise=9, shift=1))).json()
    finally:
        service.species("lion").reload_calibration()
    assert hit["best_candidate"] == "Newbie"


def test_enrol_refuses_all_photos_when_one_is_bad(api: Any) -> None:
    client, _ = api
    files = [("files", ("g.png", encode(animal(50)))), ("files", ("b.jpg", b"\xff\xd8\xff broken"))]
    r = client.post("/v1/individuals", files=files, data={"species": "lion", "individual_id": "Half"}, headers=KEY)
    assert r.status_code == 422
    assert client.get("/v1/individuals/Half").status_code == 404, "nothing half-written"


def test_enrol_refuses_all_photos_when_one_fails_the_quality_gate_or_the_ids(api: Any) -> None:
    """The gate ran per photo while enrolling: the good photos before a dark one were enrolled, and a new species
    named in the form was created, although the answer was a 422."""
    client, service = api
    gallery, species = service.species("lion").matcher.gallery.count(), service.store.list_species()
    dark = encode(np.zeros((128, 128, 3), np.uint8))
    files = [("files", ("g.png", encode(animal(51)))), ("files", ("dark.png", dark))]
    r = client.post("/v1/individuals", files=files, data={"species": "lion", "individual_id": "Dim"}, headers=KEY)
    assert r.status_code == 422 and r.json()["error"].startswith("dark.png: The photo is too dark"), r.text
    assert client.get("/v1/individuals/Dim").status_code == 404, "nothing half-written"
    for form in (
        {"species": "zebra", "individual_id": "bad id", "scientific_name": "Equus quagga"},
        {"species": "zebra", "individual_id": "L0", "scientific_name": "Equus quagga"},  # L0 is a lion
    ):
        r = client.post("/v1/individuals", files=[("files", ("z.png", encode(animal(52))))], data=form, headers=KEY)
        assert r.status_code == 422 and r.json()["error"].startswith("individual: "), r.text
    assert service.store.list_species() == species, "no species created by a refused enrolment"
    assert service.species("lion").matcher.gallery.count() == gallery


@pytest.mark.parametrize("field", ["scientific_name", "vernacular_name"])
def test_species_names_have_a_length_limit(api: Any, field: str) -> None:
    """The other text fields of the form had one; these two were stored (and exported) at any length."""
    client, service = api
    before = service.store.list_species()
    form = {"species": "lion", "individual_id": "L0", field: "x" * 257}
    r = client.post("/v1/individuals", files=[("files", ("l.png", encode(animal(0))))], data=form, headers=KEY)
    assert r.status_code == 422 and r.json()["error"].startswith(f"{field}: String should have at most 256"), r.text
    assert service.store.list_species() == before


def test_review_confirm_and_correct_enrol_the_photo_and_log_the_decision(api: Any) -> None:
    client, service = api
    pred = _predict(client, _photo(4)).json()
    gallery_before = service.species("lion").matcher.gallery.count()
    r = client.post(
        "/v1/review", json={"prediction_id": pred["id"], "decision": "confirm", "reviewer": "ana"}, headers=KEY
    )
    assert r.status_code == 200, r.text
    assert r.json()["agreed"] is True and r.json()["individual_id"] == "L4"
    pred2 = _predict(client, encode(animal(5, noise=12, shift=6))).json()
    body = {"prediction_id": pred2["id"], "decision": "correct", "individual_id": "L5b", "note": "twin"}
    r = client.post("/v1/review", json=body, headers=KEY)
    assert r.status_code == 200 and r.json()["agreed"] is False
    assert service.species("lion").matcher.gallery.count() >= gallery_before + 1
    log = service.store.reviews()
    assert [x.decision for x in log[-2:]] == ["confirm", "correct"] and log[-2].reviewer == "ana"
    assert any(not same for _, same in service.review_pairs("lion")), "disagreements kept for re-calibration"
    assert (
        client.post("/v1/review", json={"prediction_id": "nope", "decision": "reject"}, headers=KEY).status_code == 404
    )
    bad = client.post("/v1/review", json={"prediction_id": pred["id"], "decision": "correct"}, headers=KEY)
    assert bad.status_code == 422 and "individual" in bad.json()["error"]


def test_drift_stats_and_exports(api: Any) -> None:
    client, _ = api
    for seed in range(3):
        _predict(client, _photo(seed))
    r = client.get("/v1/drift-stats")
    assert r.status_code == 200
    body = r.json()
    assert body["level"] in ("ok", "warn", "alert") and body["species"][0]["species"] == "lion"
    assert body["species"][0]["recent"] > 0 and body["species"][0]["psi_mean"] is not None
    csv_text = client.get("/v1/export", params={"format": "csv"}).text
    assert csv_text.startswith("prediction_id,created_at,species,status")
    dwc = client.get("/v1/export", params={"format": "dwc"}).text.splitlines()
    assert dwc[0].startswith("occurrenceID,basisOfRecord,eventDate,scientificName")
    assert any("MachineObservation" in line for line in dwc[1:]) and any("HumanObservation" in x for x in dwc[1:])
    assert any("Panthera leo" in line for line in dwc[1:])


def test_openapi_lists_the_wildlife_endpoints(api: Any) -> None:
    client, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/individuals",
        "/v1/individuals/{individual_id}",
        "/v1/predict-single",
        "/v1/predict-batch",
        "/v1/review",
        "/v1/drift-stats",
    ):
        assert path in paths
