"""The Tesseract OCR backend (skips when the Debian tesseract-ocr package is absent)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sightings.core import protocols
from sightings.core.errors import BackendUnavailableError, InputError
from sightings.core.registry import OCR_ENGINES

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="needs the tesseract binary (sudo make system-deps)"
)
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _render(lines: list[str], size: int = 36) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default(size)
    img = Image.new("RGB", (900, 80 + 70 * len(lines)), "white")
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        draw.text((30, 30 + 70 * i), text, fill="black", font=font)
    return np.asarray(img)


def test_reads_lines_with_boxes() -> None:
    ocr = OCR_ENGINES.create("tesseract")
    assert isinstance(ocr, protocols.OcrEngine)
    lines = ocr.read(_render(["Lost cat near the station", "Call 555 0199"]), ["eng"])
    assert [ln.text for ln in lines] == ["Lost cat near the station", "Call 555 0199"]
    assert all(0 < ln.score <= 1 and ln.language == "eng" for ln in lines)
    assert lines[0].box.y2 <= lines[1].box.y1 + 5 and lines[0].box.width > 300
    assert ocr.read(np.full((60, 200, 3), 255, np.uint8), ["eng"]) == []


@pytest.mark.skipif(not FONT.exists(), reason="needs the DejaVu font for Cyrillic text")
def test_per_region_language_choice() -> None:
    ocr = OCR_ENGINES.create("tesseract")
    if "rus" not in ocr._known:
        pytest.skip("tesseract-ocr-rus not installed")
    lines = ocr.read(_render(["Пропал кот, район вокзала", "Reward 500 EUR"]), ["rus", "eng"])
    assert lines[0].text.startswith("Пропал кот") and "rus" in (lines[0].language or "")
    assert (lines[1].text, lines[1].language) == ("Reward 500 EUR", "eng")  # re-read alone in the best language


def test_deskew_levels_a_tilted_page_before_reading() -> None:
    pytest.importorskip("cv2")
    import cv2

    page = _render(["Lost cat near the central station", "Black and white, answers to Tom", "Call 555 0199"])
    h, w = page.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 7.0, 1.0)  # the page photographed 7 degrees off
    tilted = np.ascontiguousarray(cv2.warpAffine(page, turn, (w, h), borderValue=(255, 255, 255)))
    from sightings.vision.ocr_prepare import estimate_skew_deg, to_grey

    assert estimate_skew_deg(to_grey(tilted)) == pytest.approx(-7.0, abs=0.5)
    lines = OCR_ENGINES.create("tesseract", deskew=True).read(tilted, ["eng"])
    assert [ln.text for ln in lines] == [
        "Lost cat near the central station",
        "Black and white, answers to Tom",
        "Call 555 0199",
    ]


def test_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    ocr = OCR_ENGINES.create("tesseract")
    with pytest.raises(BackendUnavailableError, match="no data for"):
        ocr.read(_render(["x"]), ["klingon"])
    with pytest.raises(InputError):
        ocr.read(np.zeros((10, 10, 3), np.float32), ["eng"])  # type: ignore[arg-type]
    import sightings.vision.ocr as ocr_module

    monkeypatch.setattr(ocr_module.shutil, "which", lambda name: None)
    with pytest.raises(BackendUnavailableError, match="not installed"):
        ocr_module.TesseractOcr()
