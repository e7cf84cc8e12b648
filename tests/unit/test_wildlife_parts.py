"""Wildlife pieces without a service: gate checks and sentences, drift statistics, zip intake, Darwin Core rows."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from sightings.core.errors import ConfigError, InputError, TooLargeError
from sightings.solutions.wildlife.drift import drift_report, ks_statistic, psi
from sightings.solutions.wildlife.export import DWC_COLUMNS, dwc_rows, to_csv
from sightings.solutions.wildlife.gate import (
    GateResult,
    GateSettings,
    distribution_check,
    image_quality_checks,
    sentence,
)
from sightings.solutions.wildlife.intake import BatchItem, check_batch, read_zip
from sightings.solutions.wildlife.store import PredictionRecord, ReviewRecord, SpeciesRecord

pytest.importorskip("cv2")


def _texture(size: int = 128) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.kron(rng.integers(30, 226, (size // 8, size // 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)


@pytest.mark.parametrize(
    ("image", "code"),
    [
        (np.full((100, 100, 3), 10, np.uint8), "too_dark"),
        (np.full((100, 100, 3), 245, np.uint8), "too_bright"),
        (np.full((100, 100, 3), 128, np.uint8), "too_blurry"),
        (np.full((30, 300, 3), 128, np.uint8), "too_small"),
    ],
)
def test_quality_checks_name_the_first_failure(image: np.ndarray, code: str) -> None:
    result = GateResult(image_quality_checks(image, GateSettings()), "lion")
    assert result.reason == code and not result.passed
    assert result.message and result.message[0].isupper() and result.message.endswith(".")


def test_a_sharp_well_exposed_photo_passes_and_blur_fails() -> None:
    import cv2

    sharp = _texture()
    assert GateResult(image_quality_checks(sharp, GateSettings())).passed
    blurred = cv2.GaussianBlur(sharp, (0, 0), 4)
    assert GateResult(image_quality_checks(blurred, GateSettings())).reason == "too_blurry"


def test_distribution_check_and_sentences() -> None:
    assert distribution_check(0.5, None).skipped and distribution_check(0.5, None).passed
    assert not distribution_check(0.5, 0.2).passed and distribution_check(0.1, 0.2).passed
    text = sentence("out_of_distribution", value=0.5, threshold=0.2, species="orca")
    assert "orca" in text and "0.500" in text
    with pytest.raises(ConfigError, match="unknown gate reason"):
        sentence("nope")
    with pytest.raises(ConfigError):
        GateSettings(dark=200, bright=100)


def test_psi_and_ks_see_a_shift_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=2000)
    assert psi(base, rng.normal(size=500)) < 0.05 and ks_statistic(base, rng.normal(size=500)) < 0.1
    assert psi(base, rng.normal(1.5, size=500)) > 0.25 and ks_statistic(base, rng.normal(1.5, size=500)) > 0.3


def _pred(i: int, status: str = "accepted", conf: float = 0.9, proj: list[float] | None = None) -> PredictionRecord:
    return PredictionRecord(
        id=f"p{i}",
        species="lion",
        status=status,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        confidence=conf,
        individual_id="Ayo" if status == "accepted" else None,
        projection=proj,
        lat=-1.5,
        lon=35.1,
        filename=f"img{i}.jpg",
    )


def test_drift_levels() -> None:
    rng = np.random.default_rng(1)
    baseline = rng.normal(size=(300, 8)).tolist()
    steady = [_pred(i, proj=rng.normal(size=8).tolist()) for i in range(60)]
    report = drift_report("lion", steady, baseline_projection=baseline, baseline_confidence=0.9)
    assert report.level == "ok", report
    shifted = [_pred(i, "rejected" if i % 2 else "accepted", 0.5, (rng.normal(size=8) + 2).tolist()) for i in range(60)]
    report = drift_report("lion", shifted, baseline_projection=baseline, baseline_confidence=0.9)
    assert report.level == "alert" and report.levels["psi"] == "alert" and report.levels["rejection_rate"] == "alert"
    # rejected photos count among the recent answers (they used to drop out of the count once the KS test ran)
    rejected_no_proj = [replace(p, projection=None) if p.status == "rejected" else p for p in shifted]
    counted = drift_report("lion", rejected_no_proj, baseline_projection=baseline, baseline_confidence=0.9)
    assert counted.ks_max is not None and counted.recent == 60 and counted.rejection_rate == 0.5
    few = drift_report("lion", shifted[:5], baseline_projection=baseline)
    assert few.level == "ok" and "too few" in few.notes[-1]


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_intake_refuses_unsafe_archives() -> None:
    limits = {"where": "z.zip", "max_files": 3, "max_bytes": 10_000_000}
    assert [i.name for i in read_zip(_zip({"a.jpg": b"1", "d/b.png": b"2", ".hidden": b"3"}), **limits)] == [
        "a.jpg",
        "d/b.png",
    ]
    for name in ("../x.jpg", "/abs.jpg", "C:/win.jpg", "a\\..\\b.jpg"):
        with pytest.raises(InputError, match=r"path|escapes"):
            read_zip(_zip({name: b"x"}), **limits)
    with pytest.raises(TooLargeError, match="zip bomb"):
        read_zip(_zip({"big.bin": b"\x00" * 20_000_000}), **limits)
    with pytest.raises(TooLargeError, match="at most 3"):
        read_zip(_zip({f"{i}.jpg": b"x" for i in range(4)}), **limits)
    with pytest.raises(InputError, match="not a readable zip"):
        read_zip(b"PK\x03\x04nope", **limits)
    with pytest.raises(InputError, match="empty batch"):
        check_batch([], max_files=3)
    with pytest.raises(TooLargeError):
        check_batch([BatchItem("a", b"1")] * 4, max_files=3)


def test_darwin_core_rows_machine_and_human_observations() -> None:
    preds = [_pred(1), _pred(2, "unknown", 0.2), _pred(3, "rejected"), _pred(4, "unknown", 0.3)]
    reviews = {"p4": ReviewRecord("p4", "correct", False, individual_id="Zuri", reviewer="ana")}
    species = {"lion": SpeciesRecord("lion", "Panthera leo", "lion")}
    rows = dwc_rows(preds, reviews, species)
    assert [r["organismID"] for r in rows] == ["Ayo", "Zuri"]
    assert [r["basisOfRecord"] for r in rows] == ["MachineObservation", "HumanObservation"]
    assert rows[0]["scientificName"] == "Panthera leo" and rows[0]["decimalLatitude"] == -1.5
    assert rows[0]["eventDate"] == "2025-01-01T00:00:00Z" and rows[1]["identifiedBy"] == "ana"
    text = to_csv(DWC_COLUMNS, rows)
    assert text.splitlines()[0] == ",".join(DWC_COLUMNS) and len(text.splitlines()) == 3
    assert rows[1]["identificationRemarks"] == "correct of a sightings prediction (model said unknown)"
    rejected = replace(_pred(3, "rejected"), reason="no_animal")  # the gate was wrong: a reviewer named the lion
    reviews["p3"] = ReviewRecord("p3", "correct", False, individual_id="Bibi", reviewer="ana")
    row = next(r for r in dwc_rows([rejected], reviews, species) if r["organismID"] == "Bibi")
    assert row["identificationRemarks"] == "correct of a sightings prediction (model said rejected: no_animal)"
