"""The gate: is this a usable photo of the target animal? A reason code and a sentence a person can act on.

Checks, cheapest first; the first that fails is the reason:

    too_small            shorter side under ``min_side`` pixels
    too_dark/too_bright  mean brightness (0-255) outside [dark, bright]
    too_blurry           variance of the Laplacian of the grey image (longer side scaled to 512) under ``min_sharpness``
    no_animal            the animal detector (SSD-OIDv4 classes cat/dog/cattle) finds nothing over its threshold
                         (skipped, and said so, when the detector model is not installed)
    out_of_distribution  the photo's nearest gallery image is farther (cosine distance) than the species threshold,
                         which :mod:`~sightings.solutions.wildlife.calibrate` sets from the gallery itself
    not_target_species   zero-shot CLIP prompts (:mod:`~sightings.solutions.wildlife.clip_gate`), when installed

Defaults were set on shared/data/lions (sharpness ≥ 160 on every crop, ≤ 8 after a σ=3 blur; brightness 65-169;
shorter side ≥ 58 px) — see docs/wildlife.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import ConfigError
from sightings.i18n import N_
from sightings.vision.image_quality import laplacian_variance

__all__ = ["REASONS", "GateCheck", "GateResult", "GateSettings", "image_quality_checks", "sentence"]

REASONS: dict[str, str] = {
    "too_small": N_(
        "The photo is too small ({value:.0f} px on its short side; at least {threshold:.0f} px is needed)."
    ),
    "too_dark": N_("The photo is too dark to see the markings (brightness {value:.0f} of 255, needs {threshold:.0f})."),
    "too_bright": N_("The photo is over-exposed (brightness {value:.0f} of 255, at most {threshold:.0f})."),
    "too_blurry": N_("The photo is too blurry (sharpness {value:.0f}, needs {threshold:.0f}): focus on the animal."),
    "no_animal": N_("No animal was found in the photo (best detector score {value:.2f}, needs {threshold:.2f})."),
    "out_of_distribution": N_(
        "This does not look like the {species} photos in the gallery "
        "(distance {value:.3f} to the closest, the limit is {threshold:.3f})."
    ),
    "not_target_species": N_("The photo looks more like {detail} than a {species} (zero-shot check)."),
}
"""Reason code → the sentence shown to a person (``str.format`` fields: value, threshold, species, detail); marked
for the catalogues, translated where shown (:func:`sentence` with ``translate``)."""


def sentence(
    code: str,
    *,
    value: float = 0.0,
    threshold: float = 0.0,
    species: str = "",
    detail: str = "",
    translate: Callable[[str], str] | None = None,
) -> str:
    """The human sentence of a reason code (in a page's language with ``translate``, its catalogue's gettext)."""
    template = REASONS.get(code)
    if template is None:
        raise ConfigError(f"unknown gate reason {code!r}; known: {', '.join(REASONS)}", where="gate")
    text = translate(template) if translate is not None else template
    return text.format(value=value, threshold=threshold, species=species or "target", detail=detail)


@dataclass(frozen=True, slots=True)
class GateSettings:
    """Thresholds of the image-quality checks and the detector check."""

    min_side: int = 48
    dark: float = 35.0
    bright: float = 225.0
    min_sharpness: float = 40.0
    animal_score: float = 0.2
    animal_labels: tuple[str, ...] = ("cat", "dog", "cattle")

    def __post_init__(self) -> None:
        if self.min_side < 1:
            raise ConfigError(f"must be >= 1, got {self.min_side}", where="gate.min_side")
        if not 0 <= self.dark < self.bright <= 255:
            raise ConfigError(f"need 0 <= dark < bright <= 255, got {self.dark}, {self.bright}", where="gate")
        if self.min_sharpness < 0:
            raise ConfigError(f"must be >= 0, got {self.min_sharpness}", where="gate.min_sharpness")
        if not 0.0 < self.animal_score <= 1.0:
            raise ConfigError(f"must be in (0, 1], got {self.animal_score}", where="gate.animal_score")


@dataclass(frozen=True, slots=True)
class GateCheck:
    """One check: its code, whether it passed, the measured value and the threshold (``skipped`` says why not run)."""

    code: str
    passed: bool
    value: float | None = None
    threshold: float | None = None
    skipped: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "passed": self.passed,
            "value": self.value,
            "threshold": self.threshold,
            "skipped": self.skipped,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class GateResult:
    """All checks run; ``reason`` is the code of the first that failed (``None`` = the photo passes)."""

    checks: tuple[GateCheck, ...] = field(default_factory=tuple)
    species: str = ""

    @property
    def failed(self) -> GateCheck | None:
        return next((c for c in self.checks if not c.passed), None)

    @property
    def passed(self) -> bool:
        return self.failed is None

    @property
    def reason(self) -> str | None:
        failed = self.failed
        return None if failed is None else failed.code

    @property
    def message(self) -> str | None:
        failed = self.failed
        if failed is None:
            return None
        return sentence(
            failed.code,
            value=failed.value or 0.0,
            threshold=failed.threshold or 0.0,
            species=self.species,
            detail=failed.detail or "",
        )

    def with_checks(self, more: Sequence[GateCheck]) -> GateResult:
        return GateResult((*self.checks, *more), self.species)


def sharpness(image: npt.NDArray[np.uint8]) -> float:
    """Variance of the Laplacian of the grey image, its longer side scaled down to 512 pixels."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    scale = 512 / max(grey.shape)
    if scale < 1:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return laplacian_variance(grey)


def image_quality_checks(image: npt.NDArray[np.uint8], settings: GateSettings) -> tuple[GateCheck, ...]:
    """Size, exposure and sharpness checks; stops at the first failure (later ones are not measured)."""
    short = float(min(image.shape[:2]))
    checks = [GateCheck("too_small", short >= settings.min_side, short, float(settings.min_side))]
    if not checks[-1].passed:
        return tuple(checks)
    brightness = float(image.mean())
    checks.append(GateCheck("too_dark", brightness >= settings.dark, brightness, settings.dark))
    checks.append(GateCheck("too_bright", brightness <= settings.bright, brightness, settings.bright))
    if not all(c.passed for c in checks):
        return tuple(checks)
    sharp = sharpness(image)
    checks.append(GateCheck("too_blurry", sharp >= settings.min_sharpness, sharp, settings.min_sharpness))
    return tuple(checks)


def animal_check(detector: Any, image: npt.NDArray[np.uint8], settings: GateSettings) -> GateCheck:
    """The best score of an animal class from an SSD-style detector (``detect_image``) against the threshold."""
    if detector is None:
        return GateCheck("no_animal", True, skipped="animal detector model not installed (`sightings models install`)")
    detections = detector.detect_image(image)
    scores = [d.score for d in detections if d.label in settings.animal_labels]
    best = max(scores, default=0.0)
    label = next((d.label for d in detections if d.score == best), None)
    return GateCheck("no_animal", best >= settings.animal_score, float(best), settings.animal_score, detail=label)


def distribution_check(nearest_distance: float | None, threshold: float | None) -> GateCheck:
    """Out of distribution when the nearest gallery image is farther than the species threshold."""
    if threshold is None:
        return GateCheck("out_of_distribution", True, skipped="species gallery not calibrated yet")
    if nearest_distance is None:
        return GateCheck("out_of_distribution", True, skipped="empty gallery")
    return GateCheck("out_of_distribution", nearest_distance <= threshold, float(nearest_distance), float(threshold))
