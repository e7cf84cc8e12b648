"""One contract per backend kind; every registered implementation must pass it.

Later backends join by adding their registry name (and any options) to the matching list.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sightings.core import protocols
from sightings.core.errors import InputError, NotFoundError
from sightings.core.registry import (
    DETECTORS,
    EMBEDDERS,
    LOCAL_MATCHERS,
    METADATA_STORES,
    OCR_ENGINES,
    TRACKERS,
    VECTOR_STORES,
    WAREHOUSES,
)
from sightings.core.types import Box, Detection, Frame, MediaKind, MediaRef

REF = MediaRef("synthetic", MediaKind.VIDEO, fps=25.0)


def _frame(i: int) -> Frame:
    return Frame(REF, i, i / 25, np.full((48, 64, 3), i % 255, np.uint8))


@pytest.mark.parametrize("name", ["fake", "hog"])
def test_detector_contract(name: str) -> None:
    options = {"script": {1: [(1, 2, 10, 20, "cat", 0.9)]}} if name == "fake" else {}
    det = DETECTORS.create(name, **options)
    assert isinstance(det, protocols.Detector)
    out = det.detect([_frame(0), _frame(1)])
    assert len(out) == 2
    for frame_index, dets in zip((0, 1), out, strict=True):
        assert all(isinstance(d, Detection) and d.frame == frame_index and d.label in det.labels for d in dets)


@pytest.mark.parametrize("name", ["fake", "bytetrack", "botsort", "ocsort"])
def test_tracker_contract(name: str) -> None:
    trk = TRACKERS.create(name)
    assert isinstance(trk, protocols.Tracker)
    ids = []
    for i in range(5):
        dets = [
            Detection(i, Box(10 + i, 10, 30 + i, 40), "person", 0.9),
            Detection(i, Box(200, 5, 230, 40), "person", 0.8),
        ]
        out = trk.update(_frame(i), dets)
        assert len(out) == 2
        ids.append(sorted(t.track_id for t in out))
    assert all(x == ids[0] for x in ids), "steady objects keep their ids"
    trk.reset()
    assert trk.update(_frame(9), []) == []


def _embedder_options(name: str, tmp_path: Path) -> dict[str, object]:
    if name == "onnx":
        from embed_factories import make_conv_model

        return {"model_path": make_conv_model(tmp_path / "conv.onnx", size=None)}
    return {}


@pytest.mark.parametrize("name", ["fake", "color-texture", "onnx"])
def test_embedder_contract(name: str, tmp_path: Path) -> None:
    if name == "onnx":
        pytest.importorskip("onnx", reason="generating the test model needs the onnx package (dev extra)")
    emb = EMBEDDERS.create(name, **_embedder_options(name, tmp_path))
    assert isinstance(emb, protocols.Embedder)
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(3)]
    vecs = emb.embed(imgs)
    assert vecs.shape == (3, emb.dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(emb.embed(imgs[:1])[0], vecs[0], rtol=1e-5)
    with pytest.raises(InputError):
        emb.embed([np.zeros((1, 1, 3), np.uint8)])


@pytest.mark.parametrize("name", ["fake", "rootsift"])
def test_local_matcher_contract(name: str) -> None:
    matcher = LOCAL_MATCHERS.create(name)
    assert isinstance(matcher, protocols.LocalMatcher)
    rng = np.random.default_rng(0)
    texture = np.kron(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8), np.ones((6, 6, 1), np.uint8))
    feats = matcher.extract(texture)
    assert isinstance(feats, protocols.LocalFeatures) and len(feats) > 0
    assert feats.keypoints_xy.shape == (len(feats), 2) and feats.descriptors.shape[0] == len(feats)
    assert feats.image_size == (texture.shape[1], texture.shape[0])
    same = matcher.match(feats, matcher.extract(texture.copy()))
    assert isinstance(same, protocols.LocalMatch) and same.inliers > 0 and same.score > 0
    assert same.pairs.shape == (same.inliers, 2) and same.pairs.dtype == np.int64
    assert (same.pairs[:, 0] < len(feats)).all()
    blank = matcher.extract(np.full((64, 64, 3), 128, np.uint8))
    assert len(blank) == 0, "a flat image has no keypoints"
    none = matcher.match(feats, blank)
    assert none.inliers == 0 and none.score == 0 and none.pairs.shape == (0, 2)
    with pytest.raises(InputError):
        matcher.extract(texture.astype(np.float32))  # type: ignore[arg-type]


def _poster(lines: list[str]) -> np.ndarray:
    """Black text on white, DejaVu Sans (Cyrillic) where the system has it."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    font = ImageFont.truetype(str(font_path), 40) if font_path.exists() else ImageFont.load_default(40)
    image = Image.new("RGB", (700, 90 * len(lines) + 40), "white")
    draw = ImageDraw.Draw(image)
    for i, text in enumerate(lines):
        draw.text((30, 25 + 90 * i), text, fill="black", font=font)
    return np.asarray(image)


@pytest.mark.parametrize("name", ["fake", "tesseract"])
def test_ocr_contract(name: str) -> None:
    import shutil

    if name == "tesseract" and shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed (make system-deps)")
    text = ["Пропал кот", "+7 900 000-00-00"]
    ocr = OCR_ENGINES.create(name, **({"text": "\n".join(text)} if name == "fake" else {}))
    assert isinstance(ocr, protocols.OcrEngine)
    image = _poster(text)
    lines = ocr.read(image, ["rus"])
    assert all(isinstance(ln, protocols.TextLine) and ln.text.strip() for ln in lines)
    h, w = image.shape[:2]
    assert all(0 <= ln.box.x1 < ln.box.x2 <= w and 0 <= ln.box.y1 < ln.box.y2 <= h for ln in lines)
    assert "Пропал кот" in [ln.text for ln in lines]
    assert ocr.read(np.full((60, 200, 3), 255, np.uint8), ["eng"]) == [] or name == "fake"


def _vector_store_options(name: str, tmp_path: Path) -> dict[str, object]:
    # more vector-store contract tests (filters, ranges, distances, persistence): test_vector_store_contract.py
    return {
        "numpy": {"path": tmp_path / "gallery.npz"},
        "lancedb": {"path": tmp_path / "lance"},
        "qdrant": {"location": ":memory:"},
    }.get(name, {})


@pytest.mark.parametrize("name", ["fake", "numpy", "lancedb", "qdrant"])
def test_vector_store_contract(name: str, tmp_path: Path) -> None:
    store = VECTOR_STORES.create(name, **_vector_store_options(name, tmp_path))
    assert isinstance(store, protocols.VectorStore)
    vecs = np.eye(4, dtype=np.float32)
    store.upsert(["a", "b", "c", "d"], vecs, [{"species": "cat"}, {"species": "dog"}, {"species": "cat"}, {}])
    assert store.count() == 4 and store.dim == 4
    hits = store.search(vecs[2], k=2)
    assert hits[0].id == "c" and hits[0].distance == pytest.approx(0, abs=1e-6)
    assert {h.id for h in store.search(vecs[1], k=5, where={"species": "cat"})} == {"a", "c"}
    store.upsert(["a"], np.array([[0, 0, 0, 2]], np.float32))
    assert store.count() == 4
    store.delete(["a", "zz"])
    assert store.count() == 3
    with pytest.raises(InputError, match="dimension"):
        store.upsert(["x"], np.ones((1, 3), np.float32))


@pytest.mark.parametrize("name", ["fake", "sql"])
def test_metadata_store_contract(name: str, tmp_path: Path) -> None:
    store = METADATA_STORES.create(name, **({"path": tmp_path / "catalog.sqlite"} if name == "sql" else {}))
    assert isinstance(store, protocols.MetadataStore)
    store.put("s1", {"identity": "leo", "source": "cam"})
    store.put("s2", {"identity": "max", "source": "cam"})
    assert store.get("s1")["identity"] == "leo"
    assert len(store.find(source="cam")) == 2
    with pytest.raises(NotFoundError):
        store.get("nope")


def _warehouse_options(name: str, tmp_path: Path) -> dict[str, object]:
    if name == "chdb":  # real backends validate against a schema: give them the one table this test uses
        pytest.importorskip("chdb", reason="needs the retail extra")
        from sightings.analytics.warehouse_schema import Column, TableSpec, WarehouseSchema

        visits = TableSpec("visits", (Column("id", "UInt32"),), order_by=("id",))
        return {"path": tmp_path / "warehouse", "schema": WarehouseSchema((visits,))}
    return {}


@pytest.mark.parametrize("name", ["fake", "chdb"])
def test_warehouse_contract(name: str, tmp_path: Path) -> None:
    wh = WAREHOUSES.create(name, **_warehouse_options(name, tmp_path))
    try:
        assert isinstance(wh, protocols.Warehouse)
        assert wh.insert("visits", [{"id": 1}, {"id": 2}]) == 2
        assert wh.query("SELECT count() FROM visits")[0]["count()"] == 2
        with pytest.raises(NotFoundError):
            wh.query("SELECT * FROM nope")
    finally:
        getattr(wh, "close", lambda: None)()  # chDB holds one folder per process
