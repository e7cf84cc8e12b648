"""The optional zero-shot gate with a tiny generated 'CLIP' image model and stored prompt embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import IntegrityError

pytest.importorskip("onnx", reason="generating the test model needs the onnx package (dev extra)")
pytest.importorskip("onnxruntime")

from embed_factories import make_conv_model
from sightings.solutions.wildlife.clip_gate import PROMPTS_FILE, load_clip_gate


def test_zero_shot_gate_from_the_models_dir(tmp_path: Path) -> None:
    from sightings.models.store import ModelStore

    models = tmp_path / "models"
    assert load_clip_gate(models) is None, "no model: no zero-shot check"
    store = ModelStore(models)
    store.import_file(make_conv_model(tmp_path / "clip.onnx", size=None, gap_inside=True), "clip", task="embed")
    assert load_clip_gate(models) is None, "no prompts file: no zero-shot check"
    # the embedder's output for a red and a blue photo define the two prompts
    from sightings.vision.embed.onnx_embedder import OnnxEmbedder

    emb = OnnxEmbedder(models_dir=models, model_name="clip", preset="clip")
    red, blue = np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8)
    red[..., 0], blue[..., 2] = 230, 230
    vectors = emb.embed([red, blue])
    prompts = [
        {"label": "lion", "text": "a photo of a lion", "embedding": vectors[0].tolist()},
        {"label": "document", "text": "a page of text", "embedding": vectors[1].tolist()},
    ]
    (store.folder("clip") / PROMPTS_FILE).write_text(json.dumps({"prompts": prompts}))
    gate = load_clip_gate(models)
    assert gate is not None
    assert gate.check(red, "lion").passed
    blocked = gate.check(blue, "lion")
    assert not blocked.passed and blocked.detail == "document"
    assert gate.check(blue, "orca").skipped
    (store.folder("clip") / PROMPTS_FILE).write_text(json.dumps({"prompts": [{"label": "x", "embedding": [1, 2]}]}))
    with pytest.raises(IntegrityError, match="prompt embeddings"):
        load_clip_gate(models)
