"""One contract per backend kind; every registered implementation must pass it.

Later backends join by adding their registry name (and any options) to the matching list.
"""

from __future__ import annotations

import numpy as np
import pytest

from sightings.core import protocols
from sightings.core.errors import InputError, NotFoundError
from sightings.core.registry import (
    DETECTORS,
    EMBEDDERS,
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


@pytest.mark.parametrize("name", ["fake", "bytetrack", "botsort"])
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


@pytest.mark.parametrize("name", ["fake"])
def test_embedder_contract(name: str) -> None:
    emb = EMBEDDERS.create(name)
    assert isinstance(emb, protocols.Embedder)
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(3)]
    vecs = emb.embed(imgs)
    assert vecs.shape == (3, emb.dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(emb.embed(imgs[:1])[0], vecs[0], rtol=1e-5)
    with pytest.raises(InputError):
        emb.embed([np.zeros((1, 1, 3), np.uint8)])


@pytest.mark.parametrize("name", ["fake"])
def test_ocr_contract(name: str) -> None:
    ocr = OCR_ENGINES.create(name, **({"text": "Пропал кот\n+7 900 000-00-00"} if name == "fake" else {}))
    assert isinstance(ocr, protocols.OcrEngine)
    lines = ocr.read(np.zeros((100, 200, 3), np.uint8), ["rus"])
    assert [ln.text for ln in lines] == ["Пропал кот", "+7 900 000-00-00"]


@pytest.mark.parametrize("name", ["fake"])
def test_vector_store_contract(name: str) -> None:
    store = VECTOR_STORES.create(name)
    assert isinstance(store, protocols.VectorStore)
    vecs = np.eye(4, dtype=np.float32)
    store.upsert(["a", "b", "c", "d"], vecs, [{"species": "cat"}, {"species": "dog"}, {"species": "cat"}, {}])
    assert store.count() == 4
    hits = store.search(vecs[2], k=2)
    assert hits[0].id == "c" and hits[0].distance == pytest.approx(0)
    assert {h.id for h in store.search(vecs[1], k=5, where={"species": "cat"})} == {"a", "c"}
    store.upsert(["a"], np.array([[0, 0, 0, 2]], np.float32))
    assert store.count() == 4
    store.delete(["a", "zz"])
    assert store.count() == 3
    with pytest.raises(InputError, match="dimension"):
        store.upsert(["x"], np.ones((1, 3), np.float32))


@pytest.mark.parametrize("name", ["fake"])
def test_metadata_store_contract(name: str) -> None:
    store = METADATA_STORES.create(name)
    assert isinstance(store, protocols.MetadataStore)
    store.put("s1", {"identity": "leo", "source": "cam"})
    store.put("s2", {"identity": "max", "source": "cam"})
    assert store.get("s1")["identity"] == "leo"
    assert len(store.find(source="cam")) == 2
    with pytest.raises(NotFoundError):
        store.get("nope")


@pytest.mark.parametrize("name", ["fake"])
def test_warehouse_contract(name: str) -> None:
    wh = WAREHOUSES.create(name)
    assert isinstance(wh, protocols.Warehouse)
    assert wh.insert("visits", [{"id": 1}, {"id": 2}]) == 2
    assert wh.query("SELECT count() FROM visits")[0]["count()"] == 2
    with pytest.raises(NotFoundError):
        wh.query("SELECT * FROM nope")
