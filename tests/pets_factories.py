"""Generated pets, photos, collages, a colour-blob 'detector' and a ready service for the pets tests.

No downloads and no shared data: a 'pet' is a colourful blocky texture (one per seed); a photo of it is that
texture, shifted and noised, pasted on a smooth grey background; a poster is grey text-like bars. The blob
detector finds the colourful region (saturation), so it says "no animal" on posters.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.config import Settings, load_settings
from sightings.core.types import Box, Detection, Frame

API_KEY = "pets-test-key"


def pet(seed: int, *, size: int = 96, shift: int = 0, noise: int = 0) -> np.ndarray:
    """The texture of individual ``seed`` (another shift/noise: another photo of the same one)."""
    rng = np.random.default_rng(seed)
    cells = size // 8
    base = np.kron(rng.integers(0, 256, (cells, cells, 3)), np.ones((8, 8, 1))).astype(np.int16)
    base[..., int(rng.integers(0, 3))] = 255  # always colourful (saturated), unlike backgrounds and posters
    img = np.roll(base, shift, axis=(0, 1))
    if noise:
        img = img + np.random.default_rng(1000 + seed * 7 + shift).integers(-noise, noise + 1, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def scene(seed: int, *, width: int = 200, height: int = 150) -> np.ndarray:
    """A smooth grey background with mild noise (no hard edges, low saturation)."""
    rng = np.random.default_rng(500 + seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    level = rng.uniform(70, 180) + xx * rng.uniform(-0.2, 0.2) + yy * rng.uniform(-0.2, 0.2)
    img = np.repeat(level[..., None], 3, axis=2) + rng.normal(0, 4, (height, width, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def photo_of(individual: int, variant: int = 0, *, width: int = 200, height: int = 150, size: int = 96) -> np.ndarray:
    """A photo of ``individual``: its texture (shifted/noised per ``variant``) on background ``variant``."""
    img = scene(individual * 31 + variant, width=width, height=height)
    animal = pet(individual, size=size, shift=3 * variant, noise=6 + 2 * variant)
    y = (height - size) // 2 + (variant % 3) * 4 - 4
    x = (width - size) // 2 + (variant % 2) * 10 - 5
    img[y : y + size, x : x + size] = animal
    return img


def poster(seed: int = 0, *, width: int = 200, height: int = 150) -> np.ndarray:
    """A grey 'poster': light paper with dark text-like bars."""
    rng = np.random.default_rng(900 + seed)
    img = np.full((height, width, 3), 235, np.uint8)
    for row in range(12, height - 12, 18):
        length = int(rng.integers(width // 3, width - 20))
        img[row : row + 8, 10 : 10 + length] = 30
    return img


def collage(tiles: Sequence[np.ndarray], rows: int, cols: int, *, gutter: int = 0, colour: int = 255) -> np.ndarray:
    """Tiles (same size) in a rows × cols grid, with ``gutter`` pixels of ``colour`` between them."""
    h, w = tiles[0].shape[:2]
    out = np.full((rows * h + (rows - 1) * gutter, cols * w + (cols - 1) * gutter, 3), colour, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * (h + gutter) : r * (h + gutter) + h, c * (w + gutter) : c * (w + gutter) + w] = tile
    return out


def natural_photo(seed: int, *, width: int = 600, height: int = 400) -> np.ndarray:
    """A photo-like image that is not a collage: gradient, an ellipse 'subject', noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = rng.uniform(40, 200, 3)[None, None, :] + xx[..., None] * rng.uniform(-0.3, 0.3, 3)[None, None, :]
    cx, cy = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
    inside = ((xx - cx) / (width * 0.25)) ** 2 + ((yy - cy) / (height * 0.2)) ** 2 < 1
    img[inside] = rng.uniform(0, 255, 3)
    img = img + rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(image: np.ndarray, fmt: str = "PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt)
    return buf.getvalue()


class BlobDetector:
    """A stand-in cat/dog detector: the box of the colourful (saturated) pixels, labelled ``label``."""

    def __init__(self, label: str = "cat", *, min_share: float = 0.03) -> None:
        self.label = label
        self.labels = [label]
        self.min_share = min_share

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        out: list[list[Detection]] = []
        for frame in frames:
            img = frame.image.astype(np.int16)
            saturated = (img.max(axis=2) - img.min(axis=2)) > 80
            if saturated.mean() < self.min_share:
                out.append([])
                continue
            ys, xs = np.nonzero(saturated)
            box = Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
            out.append([Detection(frame.index, box, self.label, 0.9)])
        return out


def fake_understand(text: str, posters: Sequence[np.ndarray] = (), posted_at: datetime | None = None) -> Any:
    """A keyword stand-in for the text package's ``understand_post`` (kind, species), same result type."""
    from sightings.solutions.pets.text.facts import Extracted, PostFacts

    low = text.lower()
    kind = "other"
    if "пропал" in low or "потерял" in low:
        kind = "lost"
    elif "нашл" in low or "найден" in low:
        kind = "found"
    elif "ищ" in low and "дом" in low:
        kind = "adoption"
    species = "cat" if ("кот" in low or "кошк" in low) else "dog" if ("собак" in low or "пес" in low) else None
    return PostFacts(
        kind=Extracted(kind, 0.9 if kind != "other" else 0.6, "text"),
        species=None if species is None else Extracted(species, 0.8, "text"),
        city=None,
        district=None,
        street=None,
        phones=(Extracted("+79161234567", 0.95, "text"),) if "916" in low else (),
        dates=(Extracted(date(2025, 1, 5), 0.7, "text"),) if "5 января" in low else (),
        ocr_text="",
    )


def pets_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "pets.vector_store": "numpy",
        "pets.api_keys": [API_KEY],
        "pets.privacy_sources": ["vk"],
        "pets.ocr": False,
    }
    values.update(overrides)
    return load_settings(overrides=values).settings


def pets_service(tmp_path: Path, *, detector: Any = None, understand: Any = fake_understand, **overrides: Any) -> Any:
    """A service on a temporary data dir with the numpy gallery and the blob detector (``detector=False``: none)."""
    from sightings.solutions.pets.service import PetsService

    chosen = BlobDetector() if detector is None else (None if detector is False else detector)
    return PetsService(pets_settings(tmp_path, **overrides), detector=chosen, understand=understand)
