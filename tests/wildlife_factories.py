"""Generated 'individuals' and a ready service for the wildlife tests (no downloads, no shared data)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.config import Settings, load_settings

API_KEY = "test-key-123"


def animal(seed: int, *, noise: int = 0, shift: int = 0, size: int = 128) -> np.ndarray:
    """A patterned 'individual' (blocky random texture); noise/shift make another photo of the same one."""
    rng = np.random.default_rng(seed)
    cells = size // 8
    base = np.kron(rng.integers(30, 226, (cells, cells, 3)), np.ones((8, 8, 1))).astype(np.int16)
    img = np.roll(base, shift, axis=1)
    if noise:
        img = img + np.random.default_rng(1000 + seed * 7 + shift).integers(-noise, noise + 1, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(image: np.ndarray, fmt: str = "PNG", **options: Any) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt, **options)
    return buf.getvalue()


def wildlife_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values = {"data_dir": str(tmp_path / "data"), "wildlife.vector_store": "numpy", "wildlife.api_keys": [API_KEY]}
    values.update(overrides)
    return load_settings(overrides=values).settings


def enrolled_service(tmp_path: Path, *, individuals: int = 6, photos: int = 3, **overrides: Any) -> Any:
    """A service with ``individuals`` × ``photos`` enrolled under species 'lion', calibrated."""
    from sightings.solutions.wildlife.service import WildlifeService

    service = WildlifeService(wildlife_settings(tmp_path, **overrides))
    service.add_species("lion", scientific_name="Panthera leo", vernacular_name="lion")
    for ident in range(individuals):
        for photo in range(photos):
            image = animal(ident, noise=4 + 3 * photo, shift=4 * photo)
            service.enrol(encode(image), species="lion", individual=f"L{ident}", where=f"L{ident}-{photo}.png")
    service.calibrate("lion")
    return service
