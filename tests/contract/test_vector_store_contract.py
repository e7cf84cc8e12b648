"""The vector-store (gallery) contract beyond the basics in test_backend_contracts.py.

Every backend — fake, numpy, lancedb, qdrant — passes the same tests: the same ids and the same distances for
the same data (cosine and L2), filters (equality, membership, time ranges), upsert-replace, delete, bad input
and, for the persistent ones, reopening from disk.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sightings.core import protocols
from sightings.core.errors import InputError
from sightings.core.registry import VECTOR_STORES

# "lancedb-direct" = the LanceDB store with its in-memory copy for small tables switched off (queries go to LanceDB)
VECTOR_STORE_NAMES = ["fake", "numpy", "lancedb", "lancedb-direct", "qdrant"]
PERSISTENT_VECTOR_STORES = ["numpy", "lancedb", "lancedb-direct", "qdrant"]


def _vector_store(name: str, folder: Path, **options: Any) -> Any:
    """A fresh store of backend ``name``; persistent ones live in ``folder``."""
    if name == "lancedb-direct":
        name = "lancedb"
        options.setdefault("memory_cache_below", 0)
    if name == "numpy":
        options.setdefault("path", folder / "gallery.npz")
    elif name == "lancedb":
        options.setdefault("path", folder / "lance")
    elif name == "qdrant" and "path" not in options:
        options.setdefault("location", ":memory:")
    store = VECTOR_STORES.create(name, **options)
    assert isinstance(store, protocols.VectorStore)
    return store


def _close(store: Any) -> None:
    if hasattr(store, "close"):
        store.close()


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((8, dim))
    return (centres[rng.integers(0, 8, n)] + 0.4 * rng.standard_normal((n, dim))).astype(np.float32)


@pytest.mark.parametrize("metric", ["cosine", "l2"])
@pytest.mark.parametrize("name", VECTOR_STORE_NAMES)
def test_distances_are_exact_and_the_same_everywhere(name: str, metric: str, tmp_path: Path) -> None:
    data, queries = _clustered(60, 16, 1), _clustered(3, 16, 2)
    store = _vector_store(name, tmp_path, metric=metric)
    store.upsert([f"v{i}" for i in range(60)], data)
    if metric == "cosine":
        unit = data / np.linalg.norm(data, axis=1, keepdims=True)
        expected = 1 - (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ unit.T
    else:
        expected = np.linalg.norm(queries[:, None, :] - data[None, :, :], axis=2)
    batch = store.search_many(queries, k=5)
    for qi, query in enumerate(queries):
        order = np.argsort(expected[qi])[:5]
        hits = store.search(query, k=5)
        assert [h.id for h in hits] == [f"v{j}" for j in order]
        np.testing.assert_allclose([h.distance for h in hits], expected[qi, order], atol=2e-5)
        assert [h.id for h in batch[qi]] == [h.id for h in hits]
    assert len(store.search(queries[0], k=100)) == 60
    _close(store)


@pytest.mark.parametrize("name", VECTOR_STORE_NAMES)
def test_filters_equality_membership_and_time_range(name: str, tmp_path: Path) -> None:
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    rows = [
        ("cat-1", {"species": "cat", "side": "left", "place": "park", "t": t0}),
        ("cat-2", {"species": "cat", "side": "right", "place": "yard", "t": t0 + timedelta(days=1)}),
        ("dog-1", {"species": "dog", "side": "left", "place": "park", "t": t0.timestamp() + 2 * 86400}),
        ("fox-1", {"species": "fox", "identity": "it's quoted", "source": "cam-3"}),
    ]
    store = _vector_store(name, tmp_path)
    store.upsert([r[0] for r in rows], _clustered(4, 8, 3), [r[1] for r in rows])
    query = _clustered(1, 8, 4)[0]

    def ids(where: dict[str, Any]) -> set[str]:
        return {h.id for h in store.search(query, k=10, where=where)}

    assert ids({"species": "cat"}) == {"cat-1", "cat-2"}
    assert ids({"species": ["cat", "dog"], "side": "left"}) == {"cat-1", "dog-1"}
    assert ids({"species": ("dog", "fox")}) == {"dog-1", "fox-1"}
    assert ids({"species": []}) == set()
    assert ids({"identity": "it's quoted"}) == {"fox-1"}
    assert ids({"t": (t0, t0 + timedelta(days=1))}) == {"cat-1", "cat-2"}
    assert ids({"t": (t0.timestamp() + 86400, None)}) == {"cat-2", "dog-1"}
    assert ids({"t": (None, t0)}) == {"cat-1"}
    assert ids({"t": t0}) == {"cat-1"}
    assert ids({"place": "park", "t": (t0 + timedelta(hours=1), None)}) == {"dog-1"}
    assert ids({"source": "cam-9"}) == set()
    (hit,) = store.search(query, k=1, where={"species": "cat", "side": "left"})
    assert hit.metadata == {"species": "cat", "side": "left", "place": "park", "t": t0.timestamp()}
    with pytest.raises(InputError, match="colour"):
        store.search(query, k=3, where={"colour": "red"})
    with pytest.raises(InputError):
        store.search(query, k=3, where={"t": (datetime(2024, 5, 1), None)})  # naive datetime
    _close(store)


@pytest.mark.parametrize("name", VECTOR_STORE_NAMES)
def test_upsert_replaces_and_delete_ignores_unknown_ids(name: str, tmp_path: Path) -> None:
    store = _vector_store(name, tmp_path)
    data = _clustered(10, 8, 5)
    store.upsert([f"i{i}" for i in range(10)], data, [{"species": "cat"}] * 10)
    store.upsert(["i0"], data[9:10] * 3, [{"species": "dog", "note": "moved"}])
    assert store.count() == 10
    hits = store.search(data[9], k=2)
    assert {h.id for h in hits} == {"i0", "i9"} and hits[0].distance == pytest.approx(0, abs=1e-5)
    (dog,) = store.search(data[9], k=5, where={"species": "dog"})
    assert dog.id == "i0" and dog.metadata == {"species": "dog", "note": "moved"}
    store.delete(["i0", "i1", "never-stored"])
    store.delete([])
    assert store.count() == 8
    assert "i0" not in {h.id for h in store.search(data[9], k=10)}
    store.delete([f"i{i}" for i in range(10)])
    assert store.count() == 0 and store.search(data[0], k=3) == []
    _close(store)


@pytest.mark.parametrize("name", VECTOR_STORE_NAMES)
def test_bad_input_is_refused_with_input_error(name: str, tmp_path: Path) -> None:
    store = _vector_store(name, tmp_path)
    assert store.search(np.ones(4, np.float32), k=3) == []  # empty gallery: no hits, no error
    store.upsert(["a", "b"], np.eye(2, 4, dtype=np.float32))
    with pytest.raises(InputError, match="expects 4, got 3"):
        store.upsert(["c"], np.ones((1, 3), np.float32))
    with pytest.raises(InputError, match="dimension"):
        store.search(np.ones(5, np.float32), k=1)
    with pytest.raises(InputError, match="NaN"):
        store.upsert(["n"], np.array([[np.nan, 0, 0, 1]], np.float32))
    with pytest.raises(InputError, match="NaN"):
        store.search(np.array([np.nan, 0, 0, 1], np.float32), k=1)
    with pytest.raises(InputError, match="zero"):
        store.upsert(["z"], np.zeros((1, 4), np.float32))  # no direction under cosine
    with pytest.raises(InputError):
        store.upsert(["x", "x"], np.eye(2, 4, dtype=np.float32))
    with pytest.raises(InputError):
        store.upsert(["x", "y"], np.ones((1, 4), np.float32))
    with pytest.raises(InputError):
        store.search(np.ones(4, np.float32), k=0)
    assert store.count() == 2
    _close(store)


@pytest.mark.parametrize("name", PERSISTENT_VECTOR_STORES)
def test_persists_and_reopens(name: str, tmp_path: Path) -> None:
    options: dict[str, Any] = {"path": tmp_path / "qdrant"} if name == "qdrant" else {}
    store = _vector_store(name, tmp_path, **options)
    data = _clustered(20, 8, 6)
    store.upsert([f"p{i}" for i in range(20)], data, [{"species": "lion", "t": float(i)} for i in range(20)])
    store.delete(["p0"])
    before = store.search(data[5], k=3)
    _close(store)
    again = _vector_store(name, tmp_path, **options)
    assert again.count() == 19 and again.dim == 8
    after = again.search(data[5], k=3)
    assert [(h.id, h.metadata) for h in after] == [(h.id, h.metadata) for h in before]
    np.testing.assert_allclose([h.distance for h in after], [h.distance for h in before], atol=1e-6)
    assert {h.id for h in again.search(data[5], k=20, where={"t": (1, 3)})} == {"p1", "p2", "p3"}
    with pytest.raises(InputError, match="dimension"):
        again.upsert(["x"], np.ones((1, 9), np.float32))
    _close(again)
    with pytest.raises(InputError, match="dimension"):
        _vector_store(name, tmp_path, dim=16, **options)
