"""Modules that read meaning: text_scoring (OCR), uniqueness (reference corpus), scene_classification."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendUnavailableError, ConfigError
from sightings.solutions.content.context import ModuleContext
from sightings.solutions.content.spec import ModuleSkipped, OutputField, RawOutput, feature_module

__all__ = ["scene_descriptor"]

F32, I32 = "float32", "int32"
OCR_SIDE = 960
"""Frames go to OCR at this longer side (text in 320-px analysis frames is too small): re-decoded from the scan."""


def _ocr_frames(ctx: ModuleContext) -> list[tuple[float, npt.NDArray[np.uint8]]]:
    frames = [f for f in ctx.frames if "uniform" in f.reasons] or ctx.frames
    n = min(len(frames), ctx.options.max_ocr_frames)
    if n == 0:
        return []
    picks = [frames[int(i)] for i in np.linspace(0, len(frames) - 1, n).round().astype(int)]
    import cv2

    out = []
    for f in picks:
        h, w = f.image.shape[:2]
        scale = max(1.0, OCR_SIDE / max(h, w))
        big = cv2.resize(f.image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
        out.append((f.t_s, np.asarray(big, np.uint8)))
    return out


@feature_module(
    "text_scoring",
    version="1",
    inputs=("frames", "ocr"),
    schema={
        "t_s": OutputField(F32, ("n_ocr",), lo=0),
        "coverage": OutputField(F32, ("n_ocr",), lo=0.0, hi=1.0, description="share of the frame inside text boxes"),
        "n_chars": OutputField(I32, ("n_ocr",), lo=0),
        "text_height": OutputField(F32, ("n_ocr",), lo=0.0, hi=1.0, description="median line height / frame height"),
        "coverage_mean": OutputField(F32, (), lo=0.0, hi=1.0),
        "text_frames": OutputField(F32, (), lo=0.0, hi=1.0, description="share of read frames with text"),
        "text_duration_s": OutputField(F32, (), lo=0, description="time with text on screen (sampled)"),
        "chars_on_screen": OutputField(F32, (), lo=0, description="density: mean characters while text shows"),
    },
)
def text_scoring(ctx: ModuleContext) -> RawOutput:
    """On-screen text coverage, density, size and duration (OCR engine from the registry)."""
    from sightings.core.registry import OCR_ENGINES

    try:
        engine = OCR_ENGINES.create(ctx.options.ocr_engine)
    except BackendUnavailableError as err:
        raise ModuleSkipped(f"OCR engine {ctx.options.ocr_engine!r} unavailable: {err.reason}") from None
    frames = _ocr_frames(ctx)
    if not frames:
        raise ModuleSkipped("no analysis frames")
    rows = []
    for t_s, image in frames:
        lines = engine.read(image, languages=tuple(ctx.options.ocr_languages))
        h, w = image.shape[:2]
        area = sum(ln.box.area for ln in lines) / float(h * w)
        chars = sum(len(ln.text.replace(" ", "")) for ln in lines)
        height = float(np.median([ln.box.height for ln in lines])) / h if lines else 0.0
        rows.append((t_s, min(1.0, area), chars, min(1.0, height)))
    table = np.array(rows, np.float64)
    step = ctx.scan.duration_s / len(rows)
    with_text = table[:, 2] > 0
    duration = float(with_text.sum() * step)
    return {
        "t_s": table[:, 0],
        "coverage": table[:, 1],
        "n_chars": table[:, 2],
        "text_height": table[:, 3],
        "coverage_mean": table[:, 1].mean(),
        "text_frames": with_text.mean(),
        "text_duration_s": duration,
        "chars_on_screen": float(table[with_text, 2].mean()) if with_text.any() else 0.0,
    }


def _shot_images(ctx: ModuleContext) -> list[npt.NDArray[np.uint8]]:
    images = []
    for shot in ctx.shots:
        frame = ctx.shot_frame(shot)
        if frame is not None:
            images.append(frame.image)
    return images


@feature_module(
    "uniqueness",
    version="1",
    inputs=("frames", "shots", "corpus"),
    schema={
        "max_similarity": OutputField(F32, ("n_shot_frames",), lo=0.0, hi=1.0, description="cosine sim. to the corpus"),
        "min_hash_distance": OutputField(I32, ("n_shot_frames",), 0, 64, description="pHash bits to the corpus"),
        "near_duplicate_share": OutputField(F32, (), lo=0.0, hi=1.0, description="shots with a pHash within 8 bits"),
        "uniqueness": OutputField(F32, (), lo=0.0, hi=1.0, description="1 - mean max_similarity"),
        "corpus_size": OutputField(I32, (), lo=0),
    },
)
def uniqueness(ctx: ModuleContext) -> RawOutput:
    """Near-duplicates and similarity against a reference corpus (pHash + embeddings in a vector store)."""
    if not ctx.options.corpus_dir:
        raise ModuleSkipped("no reference corpus (set corpus_dir / --corpus DIR)")
    from sightings.core.registry import EMBEDDERS, VECTOR_STORES
    from sightings.media.hashing import hamming_distances, image_hash, pack_hash

    images = _shot_images(ctx)
    if not images:
        raise ModuleSkipped("no shot frames")
    corpus = Path(ctx.options.corpus_dir)
    if ctx.options.corpus_add:  # only a run that adds to the corpus creates it
        corpus.mkdir(parents=True, exist_ok=True)
    embedder = EMBEDDERS.create("color-texture")
    vectors = np.asarray(embedder.embed(images), np.float32)
    store = VECTOR_STORES.create("numpy", path=corpus / "embeddings.npz")
    codes = np.stack([pack_hash(image_hash(img)) for img in images])
    hash_file = corpus / "phash.json"
    known: dict[str, list[int]] = json.loads(hash_file.read_text()) if hash_file.exists() else {}
    mine = f"{ctx.video.stem}:"
    others = {k: v for k, v in known.items() if not k.startswith(mine)}
    ref = np.array(list(others.values()), np.uint64).reshape(-1, codes.shape[1]) if others else None
    hits = store.search_many(vectors, k=1) if store.count() else [[] for _ in images]
    sims = np.array([1.0 - h[0].distance if h else 0.0 for h in hits])
    dists = np.array([int(hamming_distances(ref, c).min()) if ref is not None else 64 for c in codes])
    corpus_size = store.count()
    if ctx.options.corpus_add:
        ids = [f"{ctx.video.stem}:{i}" for i in range(len(images))]
        store.upsert(ids, vectors, [{"source": str(ctx.video)} for _ in ids])
        known.update({i: [int(x) for x in c] for i, c in zip(ids, codes, strict=True)})
        hash_file.write_text(json.dumps(known))
    return {
        "max_similarity": np.clip(sims, 0, 1),
        "min_hash_distance": dists,
        "near_duplicate_share": float((dists <= 8).mean()),
        "uniqueness": float(np.clip(1.0 - sims.mean(), 0, 1)),
        "corpus_size": corpus_size,
    }


def scene_descriptor(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Weights-free scene statistics: sky share, greenery share, brightness, saturation, warmth, edge density,
    texture entropy — all in [0, 1]. Not a class label: no model, no classes."""
    import cv2

    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
    hue, sat, val = hsv[..., 0] * 2, hsv[..., 1] / 255, hsv[..., 2] / 255
    top = slice(0, max(1, image.shape[0] // 3))
    sky = float((((hue > 180) & (hue < 250) & (sat > 0.15) & (val > 0.4)) | ((sat < 0.1) & (val > 0.85)))[top].mean())
    green = float(((hue > 60) & (hue < 170) & (sat > 0.2) & (val > 0.15)).mean())
    rgb = image.astype(np.float32)
    warmth = float(np.clip(0.5 + (rgb[..., 0].mean() - rgb[..., 2].mean()) / 255, 0, 1))
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    edges = float((cv2.Canny(gray, 80, 160) > 0).mean())
    hist = np.bincount(np.asarray(gray, np.uint8).ravel() >> 3, minlength=32).astype(np.float64)
    p = hist[hist > 0] / hist.sum()
    entropy = float(-(p * np.log2(p)).sum() / 5.0)
    return np.array([sky, green, float(val.mean()), float(sat.mean()), warmth, edges, entropy])


DESCRIPTOR_NAMES = ("sky", "greenery", "brightness", "saturation", "warmth", "edge_density", "texture_entropy")


@feature_module(
    "scene_classification",
    version="1",
    inputs=("frames", "models"),
    schema={
        "t_s": OutputField(F32, ("n_scene",), lo=0),
        "descriptor": OutputField(
            F32,
            ("n_scene", len(DESCRIPTOR_NAMES)),
            lo=0.0,
            hi=1.0,
            non_empty=True,
            description="weights-free scene descriptor: " + ", ".join(DESCRIPTOR_NAMES),
        ),
        "descriptor_mean": OutputField(F32, (len(DESCRIPTOR_NAMES),), lo=0.0, hi=1.0),
        "class_probs": OutputField(
            F32,
            ("n_scene", "n_classes"),
            lo=0.0,
            hi=1.0,
            optional=True,
            description="softmax of the ONNX scene model (only with a model)",
        ),
        "class_mean": OutputField(F32, ("n_classes",), lo=0.0, hi=1.0, optional=True),
    },
)
def scene_classification(ctx: ModuleContext) -> RawOutput:
    """Scene classes from an ONNX model in the models dir when present; always the weights-free descriptor."""
    frames = [f for f in ctx.frames if "uniform" in f.reasons] or ctx.frames
    if not frames:
        raise ModuleSkipped("no analysis frames")
    desc = np.stack([scene_descriptor(f.image) for f in frames])
    out: RawOutput = {
        "t_s": np.array([f.t_s for f in frames]),
        "descriptor": desc,
        "descriptor_mean": desc.mean(axis=0),
    }
    model = ctx.models_dir / ctx.options.scene_model
    if model.is_file():
        probs = _run_scene_model(model, [f.image for f in frames])
        out["class_probs"] = probs
        out["class_mean"] = probs.mean(axis=0)
    return out


def _run_scene_model(model: Path, images: list[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float64]:
    """Softmax scores of an image classifier: NCHW float input (size from the model, ImageNet normalisation)."""
    import cv2

    from sightings.models.onnx_session import open_onnx_session

    session = open_onnx_session(model, providers=None, num_threads=1, where="scene_classification", extra="vision")
    inp = session.get_inputs()[0]
    shape = inp.shape
    side = shape[2] if len(shape) == 4 and isinstance(shape[2], int) else 224
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    rows = []
    for img in images:
        x = (cv2.resize(img, (side, side)).astype(np.float32) / 255 - mean) / std
        logits = np.asarray(session.run(None, {inp.name: x.transpose(2, 0, 1)[None]})[0], np.float64).reshape(-1)
        if logits.size == 0:
            raise ConfigError("scene model returned an empty output", where=model)
        e = np.exp(logits - logits.max())
        rows.append(e / e.sum())
    return np.stack(rows)
