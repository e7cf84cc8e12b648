"""Optional zero-shot species gate with a CLIP model from the models directory.

The image side is the ONNX embedder with the ``clip`` preset (``sightings models import clip-image.onnx --name clip
--task embed``). The text side is *not* run here: a CLIP text encoder needs CLIP's byte-pair tokenizer and a second
model, which no registry package ships offline. Instead the prompts' text embeddings are computed once, wherever a
CLIP text encoder is at hand, and saved beside the image model as ``prompts.json``::

    {"prompts": [{"label": "lion", "text": "a photo of a lion", "embedding": [...]},
                 {"label": "document", "text": "a scanned page of text", "embedding": [...]}, ...]}

A photo passes when the softmax (temperature 100, as CLIP) over the prompt labels gives the target species at
least ``min_probability``; a species with no prompt of its own is not checked. Without the model or the prompts
file the gate simply does not run this check (and says so).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import IntegrityError
from sightings.solutions.wildlife.gate import GateCheck

__all__ = ["PROMPTS_FILE", "ClipGate", "load_clip_gate"]

PROMPTS_FILE = "prompts.json"
CLIP_MODEL = "clip"


@dataclass(frozen=True, slots=True, eq=False)
class ClipGate:
    """CLIP image embedder + prompt text embeddings (rows L2-normalised) with their labels."""

    embedder: Any
    labels: tuple[str, ...]
    text_embeddings: npt.NDArray[np.float32]
    min_probability: float = 0.5
    temperature: float = 100.0

    def probabilities(self, image: npt.NDArray[np.uint8]) -> dict[str, float]:
        """P(label) for the photo: softmax over prompts, summed per label."""
        vec = np.asarray(self.embedder.embed([image]), np.float32)[0]
        logits = self.temperature * (self.text_embeddings @ vec)
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        out: dict[str, float] = {}
        for label, w in zip(self.labels, weights, strict=True):
            out[label] = out.get(label, 0.0) + float(w)
        return out

    def check(self, image: npt.NDArray[np.uint8], species: str) -> GateCheck:
        if species not in self.labels:
            return GateCheck("not_target_species", True, skipped=f"no zero-shot prompt for {species!r}")
        probs = self.probabilities(image)
        best = max(probs, key=lambda k: probs[k])
        p = probs[species]
        return GateCheck("not_target_species", p >= self.min_probability, p, self.min_probability, detail=best)


def _read_prompts(path: Path, dim: int) -> tuple[tuple[str, ...], npt.NDArray[np.float32]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        prompts: Sequence[dict[str, Any]] = data["prompts"]
        labels = tuple(str(p["label"]) for p in prompts)
        matrix = np.asarray([p["embedding"] for p in prompts], np.float32)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise IntegrityError(f"unreadable zero-shot prompts file ({err})", where=path) from None
    if matrix.ndim != 2 or matrix.shape[1] != dim or not labels or not np.isfinite(matrix).all():
        raise IntegrityError(f"prompt embeddings must be (n, {dim}) finite numbers, got {matrix.shape}", where=path)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return labels, matrix / np.maximum(norms, 1e-12)


def load_clip_gate(models_dir: Path, *, model_name: str = CLIP_MODEL, min_probability: float = 0.5) -> ClipGate | None:
    """The zero-shot gate when ``models_dir`` holds ``model_name`` with a ``prompts.json``; ``None`` otherwise."""
    from sightings.models.store import ModelStore

    store = ModelStore(models_dir)
    if model_name not in store:
        return None
    prompts = store.folder(model_name) / PROMPTS_FILE
    if not prompts.is_file():
        return None
    from sightings.vision.embed.onnx_embedder import OnnxEmbedder

    embedder = OnnxEmbedder(models_dir=models_dir, model_name=model_name, preset="clip")
    labels, matrix = _read_prompts(prompts, embedder.dim)
    return ClipGate(embedder, labels, matrix, min_probability)
