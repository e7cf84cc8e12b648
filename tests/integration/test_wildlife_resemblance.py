"""The gate's resemblance shortcut (ImageNet features close to the gallery stand in for the animal detector), run
with a real MobileNetV2 ONNX network (random weights, converted by the same code as the installed model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sightings.solutions.wildlife.resemblance import MIN_GALLERY, VECTORS_FILE
from wildlife_factories import animal, encode, enrolled_service

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def mobilenet_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sightings.models.mobilenetv2 import mobilenetv2_to_onnx
    from torch_legacy_factories import random_mobilenetv2

    path = tmp_path_factory.mktemp("mnv2") / "mobilenetv2-imagenet.onnx"
    path.write_bytes(mobilenetv2_to_onnx(random_mobilenetv2(seed=11)))
    return path


def _service(tmp_path: Path, onnx: Path | None, *, individuals: int = 6, **overrides: Any) -> Any:
    models = tmp_path / "models"
    if onnx is not None:
        from sightings.models.store import ModelStore

        ModelStore(models).import_file(onnx, "mobilenetv2-imagenet", task="embed")
    return enrolled_service(tmp_path, individuals=individuals, photos=2, models_dir=str(models), **overrides)


def _no_animal(service: Any, image: np.ndarray) -> dict[str, Any]:
    record = service.predict(encode(image), species="lion", store=False)
    (check,) = [c for c in record.gate if c["code"] == "no_animal"]
    return check


def _stripes() -> np.ndarray:
    """Not an animal: a page of dark text lines on light paper (passes the exposure and sharpness checks)."""
    page = np.full((128, 128, 3), 235, np.uint8)
    for y in range(8, 120, 12):
        page[y : y + 4, 10:118] = 20
    return page


def test_calibration_fits_the_shortcut_and_a_gallery_like_photo_skips_the_detector(
    tmp_path: Path, mobilenet_onnx: Path
) -> None:
    service = _service(tmp_path, mobilenet_onnx)
    folder = service.root / "lion"
    gate = json.loads((folder / "gate.json").read_text())
    assert gate["resemblance_model"].startswith("mobilenetv2-imagenet@") and gate["resemblance_model"].endswith(
        "/160x160"
    )
    assert 0.0 <= gate["resemblance_threshold"] < 1.0
    assert np.load(folder / VECTORS_FILE).shape == (12, 1280)

    same = _no_animal(service, animal(2, noise=5, shift=2))
    assert same["passed"] and "resembles the lion gallery" in same["skipped"]
    # a photo farther than the threshold goes to the detector (not installed here, and it says so)
    gate["resemblance_threshold"] = -1.0
    (folder / "gate.json").write_text(json.dumps(gate))
    farther = _no_animal(service, animal(2, noise=5, shift=2))  # the service follows the new gate.json
    assert farther["skipped"].startswith("animal detector model not installed")


def test_the_real_model_tells_a_page_of_text_from_the_gallery(tmp_path: Path) -> None:
    """With the installed ImageNet MobileNetV2, a page of text does not resemble a gallery of patterned animals."""
    from installed_models import models_dir_of

    real = models_dir_of("mobilenetv2-imagenet", "onnxruntime") / "mobilenetv2-imagenet" / "mobilenetv2-imagenet.onnx"
    service = _service(tmp_path, real)
    assert "resembles the lion gallery" in _no_animal(service, animal(3, noise=6, shift=4))["skipped"]
    assert _no_animal(service, _stripes())["skipped"].startswith("animal detector model not installed")


def test_no_shortcut_without_the_model_or_with_a_small_gallery_or_when_switched_off(
    tmp_path: Path, mobilenet_onnx: Path
) -> None:
    without = _service(tmp_path / "a", None)
    assert json.loads((without.root / "lion" / "gate.json").read_text())["resemblance_threshold"] is None
    assert not (without.root / "lion" / VECTORS_FILE).exists()
    assert _no_animal(without, animal(2, noise=5))["skipped"].startswith("animal detector model not installed")

    small = _service(tmp_path / "b", mobilenet_onnx, individuals=MIN_GALLERY // 2 - 1)  # 8 photos < 10
    assert json.loads((small.root / "lion" / "gate.json").read_text())["resemblance_threshold"] is None
    assert not (small.root / "lion" / VECTORS_FILE).exists()

    off = _service(tmp_path / "c", mobilenet_onnx, **{"wildlife.resemblance": False})
    assert json.loads((off.root / "lion" / "gate.json").read_text())["resemblance_threshold"] is None
    assert _no_animal(off, animal(2, noise=5))["skipped"].startswith("animal detector model not installed")


def test_a_calibration_for_another_input_size_or_broken_vectors_fall_back_to_the_detector(
    tmp_path: Path, mobilenet_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sightings.solutions.wildlife.service import WildlifeService

    service = _service(tmp_path, mobilenet_onnx)
    photo = animal(2, noise=5, shift=2)
    assert "resembles" in _no_animal(service, photo)["skipped"]
    settings = service.settings.model_copy(
        update={"wildlife": service.config.model_copy(update={"resemblance_input": 96})}
    )
    other_size = WildlifeService(settings)
    assert _no_animal(other_size, photo)["skipped"].startswith("animal detector model not installed")
    other_size.calibrate("lion")  # fitted again for 96 px: the shortcut is back
    assert "resembles" in _no_animal(other_size, photo)["skipped"]

    (service.root / "lion" / VECTORS_FILE).write_bytes(b"not an npy file")
    fresh = WildlifeService(settings)
    with caplog.at_level("WARNING"):
        assert _no_animal(fresh, photo)["skipped"].startswith("animal detector model not installed")
    assert "unreadable" in caplog.text


def test_a_big_gallery_keeps_a_seeded_sample(
    tmp_path: Path, mobilenet_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sightings.solutions.wildlife import species

    monkeypatch.setattr(species, "SAMPLE", 10)
    service = _service(tmp_path, mobilenet_onnx)  # 12 gallery photos
    gate = json.loads((service.root / "lion" / "gate.json").read_text())
    assert gate["gallery_images"] == 12 and gate["resemblance_images"] == 10
    assert np.load(service.root / "lion" / VECTORS_FILE).shape == (10, 1280)
    assert "resembles" in _no_animal(service, animal(2, noise=5, shift=2))["skipped"]
