"""The gate's resemblance shortcut: a photo that looks like the species' gallery needs no animal detector.

The "no animal" check runs the SSD-OIDv4 detector (7.5 ms a photo alone, ~10 ms under load: a third of a
two-stage prediction). Most photos sent to a species are photos of that species, and a generic ImageNet
embedding says so for a fraction of the cost (MobileNetV2 at 160 px: ~2 ms). So, when the ``mobilenetv2-imagenet``
model is installed (``sightings models install``):

* ``sightings wildlife calibrate`` embeds every gallery photo and sets the species' **resemblance threshold**: the
  90th percentile of the gallery photos' distances to their own nearest other gallery photo (leave-one-out,
  cosine). It needs at least :data:`MIN_GALLERY` photos, and keeps a seeded sample of at most :data:`SAMPLE`
  of a bigger gallery (threshold and predictions both use the sample); the vectors go to
  ``<species>/resemblance.npy``.
* At predict time, a photo whose nearest gallery photo is within that threshold shows what the gallery shows,
  the animal: the "no animal" check passes, and says why, without running the detector. Any other photo goes to
  the detector as before. The shortcut never rejects a photo.

The rule was fixed before looking at any result: 90 % of the gallery's own photos would take the shortcut. An
ImageNet network tells a lion from a document page, a habitat or an everyday object, which the colour-texture
descriptor cannot (docs/wildlife.md "The resemblance shortcut"); it does not tell one lion from another, so it plays
no part in identification.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from sightings.core.errors import NotFoundError

__all__ = [
    "MIN_GALLERY",
    "MODEL",
    "QUANTILE",
    "SAMPLE",
    "VECTORS_FILE",
    "ResemblanceEmbedder",
    "fit_threshold",
    "load_resemblance_embedder",
    "nearest_distance",
]

log = logging.getLogger(__name__)

MODEL = "mobilenetv2-imagenet"
QUANTILE = 0.9
MIN_GALLERY = 10
SAMPLE = 2000
"""Most gallery photos kept for the shortcut (a seeded sample of a bigger gallery): 2000 × 1280 float32 = 10 MB in
each prediction worker, and a few seconds of embedding at calibration."""
VECTORS_FILE = "resemblance.npy"


class ResemblanceEmbedder(Protocol):
    """What the shortcut needs of an embedder: L2-normalised rows, and a signature naming model and input size."""

    signature: str

    def embed(self, images: Any) -> npt.NDArray[np.float32]: ...


class _OnnxResemblance:
    def __init__(self, embedder: Any, sha256: str) -> None:
        self._embedder = embedder
        h, w = embedder.input_hw
        self.signature = f"{MODEL}@{sha256[:12]}/{h}x{w}"

    def embed(self, images: Any) -> npt.NDArray[np.float32]:
        vectors: npt.NDArray[np.float32] = self._embedder.embed(images)
        return vectors


def load_resemblance_embedder(models_dir: Path, input_size: int) -> ResemblanceEmbedder | None:
    """The MobileNetV2-ImageNet embedder (one thread per call) when the model is installed, else ``None``."""
    from sightings.models.store import ModelStore

    store = ModelStore(models_dir)
    if MODEL not in store:
        return None
    try:
        manifest = store.get(MODEL)
    except NotFoundError:  # pragma: no cover - removed between the two calls
        return None
    from sightings.vision.embed.onnx_embedder import OnnxEmbedder

    embedder = OnnxEmbedder(models_dir=models_dir, model_name=MODEL, input_size=input_size, num_threads=1)
    return _OnnxResemblance(embedder, manifest.sha256)


def fit_threshold(vectors: npt.NDArray[np.float32]) -> float | None:
    """The :data:`QUANTILE` of each gallery photo's cosine distance to its nearest other one (``None`` below
    :data:`MIN_GALLERY` photos)."""
    if len(vectors) < MIN_GALLERY:
        return None
    unit = np.asarray(vectors, np.float64)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    return float(np.quantile(1.0 - sims.max(axis=1), QUANTILE))


def nearest_distance(gallery: npt.NDArray[np.float32], vector: npt.NDArray[np.float32]) -> float:
    """Cosine distance from ``vector`` to its nearest row of ``gallery`` (both L2-normalised)."""
    return float(1.0 - np.max(gallery @ np.asarray(vector, np.float32)))
