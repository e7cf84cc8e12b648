"""Cats and dogs in post photos: detect, crop with a margin, and say which species.

    finder = AnimalFinder(create_animal_detector("ssd-oidv4", models_dir=...), threshold=0.3, margin=0.1)
    crops = finder.find(tile_image, photo_index=0, tile_index=1)     # → [AnimalCrop(image, box, species, score)]
    post_species(crops, text_species="cat")                          # detector vote; text breaks a tie

The default detector is the video engine's SSD-MobileNetV2-OIDv4 (``ssd-oidv4`` in the detector registry) with
only its ``Cat`` and ``Dog`` classes. Without it (the model is not installed, or ``pets.detector: none``) every
photo is used whole and the post says so (flag ``no_detector``). The detector runs one image at a time under a
lock (one TFLite interpreter is not thread-safe).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import NotFoundError
from sightings.core.protocols import Detector
from sightings.core.types import Box, Frame, MediaKind, MediaRef

__all__ = ["ANIMAL_LABELS", "AnimalCrop", "AnimalFinder", "create_animal_detector", "post_species"]

log = logging.getLogger(__name__)

ANIMAL_LABELS = {"cat": "cat", "dog": "dog"}
"""Detector labels → our species."""
MIN_CROP_SIDE = 16


@dataclass(frozen=True, slots=True, eq=False)
class AnimalCrop:
    """One animal (or a whole photo when no detector ran): pixels, box in its tile, species, detector score."""

    image: npt.NDArray[np.uint8]
    box: Box
    species: str | None
    score: float | None
    photo_index: int = 0
    tile_index: int = 0
    detected: bool = True


def create_animal_detector(name: str, *, models_dir: Path, threshold: float) -> Detector | None:
    """The cat/dog detector ``name`` from the registry, or ``None`` for ``"none"`` or when its model is missing
    (logged once as a warning: photos are then used whole)."""
    if name == "none":
        return None
    from sightings.core.registry import DETECTORS

    options: dict[str, Any] = {}
    if name == "ssd-oidv4":
        options = {"models_dir": models_dir, "classes": ("Cat", "Dog"), "score_threshold": threshold}
    try:
        detector: Detector = DETECTORS.create(name, **options)
    except NotFoundError as err:
        log.warning("pets: no %s detector (%s); photos are used whole and flagged no_detector", name, err)
        return None
    return detector


class AnimalFinder:
    """Finds cats and dogs in an image with ``detector`` (``None``: the whole image is one unchecked crop)."""

    def __init__(self, detector: Detector | None, *, threshold: float = 0.3, margin: float = 0.1) -> None:
        self.detector = detector
        self.threshold = threshold
        self.margin = margin
        self._lock = threading.Lock()

    @property
    def has_detector(self) -> bool:
        return self.detector is not None

    def find(self, image: npt.NDArray[np.uint8], *, photo_index: int = 0, tile_index: int = 0) -> list[AnimalCrop]:
        """The animals in ``image``, best first (empty: the detector found none)."""
        height, width = image.shape[:2]
        if self.detector is None:
            return [AnimalCrop(image, Box(0, 0, width, height), None, None, photo_index, tile_index, detected=False)]
        frame = Frame(MediaRef("photo", MediaKind.IMAGE, width=width, height=height), 0, 0.0, image)
        with self._lock:
            detections = self.detector.detect([frame])[0]
        crops: list[AnimalCrop] = []
        for det in sorted(detections, key=lambda d: -d.score):
            species = ANIMAL_LABELS.get(det.label)
            if species is None or det.score < self.threshold:
                continue
            box = _with_margin(det.box, self.margin, width, height)
            if box.width < MIN_CROP_SIDE or box.height < MIN_CROP_SIDE:
                continue
            x1, y1, x2, y2 = (round(v) for v in box.xyxy)
            crop = np.ascontiguousarray(image[y1:y2, x1:x2])
            crops.append(AnimalCrop(crop, Box(x1, y1, x2, y2), species, float(det.score), photo_index, tile_index))
        return crops


def _with_margin(box: Box, margin: float, width: int, height: int) -> Box:
    dx, dy = box.width * margin, box.height * margin
    return Box(box.x1 - dx, box.y1 - dy, box.x2 + dx, box.y2 + dy).clip(width, height)


def post_species(crops: Sequence[AnimalCrop], text_species: str | None = None) -> str | None:
    """The post's species: the detector's vote (summed scores); the text's species breaks a tie or decides when
    the detector saw nothing."""
    votes: dict[str, float] = {}
    for crop in crops:
        if crop.species is not None:
            votes[crop.species] = votes.get(crop.species, 0.0) + (crop.score or 0.0)
    if not votes:
        return text_species
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if len(ranked) > 1 and abs(ranked[0][1] - ranked[1][1]) < 1e-6 and text_species in votes:
        return text_species
    return ranked[0][0]
