"""Backend-specific gallery behaviour: LanceDB's ANN index, Qdrant local persistence, corrupt stores, bad config."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import BackendUnavailableError, ConfigError, InputError, IntegrityError
from sightings.core.registry import VECTOR_STORES
from sightings.identity.gallery.numpy_store import NumpyVectorStore


def _clustered(n: int, dim: int, seed: int, clusters: int = 30) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    return (centres[rng.integers(0, clusters, n)] + 0.5 * rng.standard_normal((n, dim))).astype(np.float32)


def _recall(got: list[list[str]], truth: list[list[str]]) -> float:
    return float(np.mean([len(set(g) & set(t)) / len(t) for g, t in zip(got, truth, strict=True)]))


# -- LanceDB -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("index_type", ["IVF_HNSW_SQ", "IVF_PQ"])
def test_lance_builds_an_index_at_the_threshold_with_high_recall(tmp_path: Path, index_type: str) -> None:
    from sightings.identity.gallery.lance_store import LanceVectorStore

    data = _clustered(3000, 32, 0)
    ids = [f"v{i}" for i in range(len(data))]
    species = [{"species": "cat" if i % 3 else "dog"} for i in range(len(data))]
    # memory_cache_below=0: search through LanceDB and its index, not the in-memory copy of small tables
    store = LanceVectorStore(tmp_path / "lance", index_threshold=2000, index_type=index_type, memory_cache_below=0)
    store.upsert(ids[:1500], data[:1500], species[:1500])
    assert not store.has_index(), "below the threshold the search is exact (flat)"
    store.upsert(ids[1500:], data[1500:], species[1500:])
    assert store.has_index()
    exact = NumpyVectorStore()
    exact.upsert(ids, data, species)
    rng = np.random.default_rng(1)
    queries = data[rng.choice(len(data), 40, replace=False)] + 0.05 * rng.standard_normal((40, 32)).astype(np.float32)
    got, truth = store.search_many(queries, k=10), exact.search_many(queries, k=10)
    assert _recall([[h.id for h in hits] for hits in got], [[h.id for h in hits] for hits in truth]) >= 0.95
    for hits in got[:5]:  # the index's candidates are re-ranked on the stored vectors: distances are exact
        idx = [int(h.id[1:]) for h in hits]
        unit = data[idx] / np.linalg.norm(data[idx], axis=1, keepdims=True)
        q = queries[got.index(hits)] / np.linalg.norm(queries[got.index(hits)])
        np.testing.assert_allclose([h.distance for h in hits], 1 - unit @ q, atol=1e-4)
    dogs = store.search(queries[0], k=10, where={"species": "dog"})
    assert len(dogs) == 10 and all(h.metadata["species"] == "dog" for h in dogs)
    # rows added after the index are not in it yet, but a search still finds them
    fresh = _clustered(50, 32, 7)
    store.upsert([f"new{i}" for i in range(50)], fresh)
    assert store.search(fresh[3], k=1)[0].id == "new3"
    reopened = LanceVectorStore(tmp_path / "lance", index_type=index_type, memory_cache_below=0)
    assert reopened.has_index() and reopened.count() == 3050
    assert reopened.search(fresh[3], k=1)[0].id == "new3"


def test_lance_bad_paths_and_config(tmp_path: Path) -> None:
    from sightings.identity.gallery.lance_store import LanceVectorStore

    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(InputError, match="folder"):
        LanceVectorStore(tmp_path / "file")
    with pytest.raises(ConfigError, match="index_type"):
        LanceVectorStore(tmp_path / "l", index_type="FLAT")
    with pytest.raises(ConfigError, match="metric"):
        LanceVectorStore(tmp_path / "l", metric="dot")
    store = LanceVectorStore(tmp_path / "l")
    store.upsert(["a"], np.ones((1, 4), np.float32))
    with pytest.raises(InputError, match="metric"):
        LanceVectorStore(tmp_path / "l", metric="l2")
    with pytest.raises(InputError, match="256 rows"):
        store.create_index()


def test_lance_corrupt_table_gives_integrity_error_naming_the_path(tmp_path: Path) -> None:
    from sightings.identity.gallery.lance_store import LanceVectorStore

    store = LanceVectorStore(tmp_path / "lance")
    store.upsert(["a", "b"], np.eye(2, 4, dtype=np.float32))
    for manifest in (tmp_path / "lance" / "gallery.lance" / "_versions").glob("*.manifest"):
        manifest.write_bytes(b"garbage" * 8)
    with pytest.raises(IntegrityError, match="corrupt") as err:
        LanceVectorStore(tmp_path / "lance")
    text = str(err.value)
    assert str(tmp_path / "lance") in text and "\n" not in text and ".rs:" not in text


def test_lance_storage_that_is_gone_is_an_outage_not_corruption(tmp_path: Path) -> None:
    """A moved or unmounted gallery folder is a BackendError (the API holds requests through it); bad bytes stay an
    IntegrityError."""
    from sightings.core.errors import BackendError
    from sightings.identity.gallery.lance_store import LanceVectorStore

    store = LanceVectorStore(tmp_path / "lance")
    store.upsert(["a"], np.eye(1, 4, dtype=np.float32))
    gone = [
        ("upsert", RuntimeError("External error: LanceError(IO): Not a directory (os error 20)")),
        ("count", RuntimeError("External error: Not found: lance/gallery.lance/data/x.lance")),
        ("search", PermissionError(13, "Permission denied")),
    ]
    for action, exc in gone:
        with pytest.raises(BackendError) as err, store._errors(action):
            raise exc
        assert not isinstance(err.value, IntegrityError) and f"LanceDB {action} failed" in str(err.value)
    with pytest.raises(IntegrityError, match="corrupt"), store._errors("open"):
        raise RuntimeError("lance error: LanceError(IO): file size is too small")


# -- Qdrant --------------------------------------------------------------------------------------------------------


def test_qdrant_local_persists_and_locks_its_folder(tmp_path: Path) -> None:
    from sightings.identity.gallery.qdrant_store import QdrantVectorStore

    data = _clustered(30, 8, 2)
    store = QdrantVectorStore(path=tmp_path / "q", collection="lions")
    store.upsert([f"l{i}" for i in range(30)], data, [{"identity": f"lion-{i % 3}"} for i in range(30)])
    with pytest.raises(BackendUnavailableError, match="another Qdrant client"):
        QdrantVectorStore(path=tmp_path / "q", collection="lions")
    store.close()
    again = QdrantVectorStore(path=tmp_path / "q", collection="lions")
    assert again.count() == 30 and again.dim == 8
    hits = again.search(data[4], k=3, where={"identity": "lion-1"})
    assert hits[0].id == "l4" and {h.metadata["identity"] for h in hits} == {"lion-1"}
    other = QdrantVectorStore(path=tmp_path / "q2", collection="other", metric="l2", dim=8)
    assert other.count() == 0 and other.dim == 8
    again.close()
    other.close()
    with pytest.raises(InputError, match="distance"):
        QdrantVectorStore(path=tmp_path / "q", collection="lions", metric="l2")


def test_qdrant_unreachable_server_is_one_line_backend_unavailable() -> None:
    from sightings.identity.gallery.qdrant_store import QdrantVectorStore

    with pytest.raises(BackendUnavailableError, match="cannot reach") as err:
        QdrantVectorStore(url="http://127.0.0.1:9", timeout_s=1)
    assert "127.0.0.1:9" in str(err.value) and "\n" not in str(err.value)


def test_qdrant_needs_exactly_one_location(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        VECTOR_STORES.create("qdrant")
    with pytest.raises(ConfigError, match="exactly one"):
        VECTOR_STORES.create("qdrant", path=tmp_path, location=":memory:")


@pytest.mark.parametrize("damage", ["meta.json", "storage.sqlite"])
def test_qdrant_corrupt_local_folder_gives_integrity_error(tmp_path: Path, damage: str) -> None:
    from sightings.identity.gallery.qdrant_store import QdrantVectorStore

    store = QdrantVectorStore(path=tmp_path / "q")
    store.upsert(["a", "b"], np.eye(2, 4, dtype=np.float32))
    store.close()
    target = next((tmp_path / "q").rglob(damage))
    target.write_bytes(b"{garbage" * 100)
    with pytest.raises(IntegrityError, match="corrupt") as err:
        QdrantVectorStore(path=tmp_path / "q")
    assert str(tmp_path / "q") in str(err.value) and "\n" not in str(err.value)


# -- NumPy ---------------------------------------------------------------------------------------------------------


def _saved_numpy_gallery(path: Path) -> None:
    store = NumpyVectorStore(path)
    store.upsert(["a", "b", "c"], np.eye(3, 4, dtype=np.float32), [{"species": "cat"}] * 3)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "no-header", "count-mismatch"])
def test_numpy_corrupt_file_gives_integrity_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "gallery.npz"
    _saved_numpy_gallery(path)
    if damage == "garbage":
        path.write_bytes(b"not a zip at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        with np.load(path) as npz:
            arrays = dict(npz)
        if damage == "no-header":
            del arrays["header"]
        else:
            header = json.loads(arrays["header"].tobytes())
            arrays["header"] = np.frombuffer(json.dumps({**header, "count": 7}).encode(), np.uint8)
        np.savez(path, **arrays)
    with pytest.raises(IntegrityError) as err:
        NumpyVectorStore(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_numpy_file_is_written_atomically_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "g" / "gallery.npz"
    store = NumpyVectorStore(path, autosave=False)
    store.upsert(["a", "b"], np.eye(2, 4, dtype=np.float32), [{"t": 5.0}, {}])
    assert not path.exists(), "autosave=False writes only on save()"
    store.save()
    assert zipfile.is_zipfile(path) and [p.name for p in path.parent.iterdir()] == ["gallery.npz"]
    again = NumpyVectorStore(path)
    assert again.count() == 2 and again.search(np.eye(4)[0], k=1, where={"t": (4, 6)})[0].id == "a"
    with pytest.raises(InputError, match="metric"):
        NumpyVectorStore(path, metric="l2")
    with pytest.raises(InputError, match="folder"):
        NumpyVectorStore(tmp_path)


def test_lance_small_tables_are_searched_in_memory_and_kept_in_step(tmp_path: Path) -> None:
    from sightings.identity.gallery.lance_store import LanceVectorStore

    data = _clustered(300, 16, 3)
    ids = [f"v{i}" for i in range(len(data))]
    meta = [{"species": "cat" if i % 2 else "dog", "t": float(i)} for i in range(len(data))]
    cached = LanceVectorStore(tmp_path / "a")
    direct = LanceVectorStore(tmp_path / "b", memory_cache_below=0)
    for store in (cached, direct):
        store.upsert(ids, data, meta)
    q = data[7] + 0.01
    where = {"species": "cat", "t": (10.0, 200.0)}
    assert [h.id for h in cached.search(q, k=5, where=where)] == [h.id for h in direct.search(q, k=5, where=where)]
    assert cached._mirror is not None  # the copy now serves searches
    cached.upsert(["new"], data[7:8] * 2, [{"species": "cat", "t": 50.0}])
    cached.delete(["v7"])
    hits = cached.search(q, k=2)
    assert hits[0].id == "new" and "v7" not in {h.id for h in hits}
    reopened = LanceVectorStore(tmp_path / "a")
    assert reopened.search(q, k=1)[0].id == "new" and reopened.count() == 300


_OTHER_PROCESS = """
import sys
import numpy as np
from sightings.identity.gallery.lance_store import LanceVectorStore
store = LanceVectorStore(sys.argv[1])
vector = np.asarray([float(v) for v in sys.argv[2].split(",")], np.float32)[None]
store.upsert(["theirs"], vector, [{"species": "cat", "t": 1.0}])
store.delete(sys.argv[3:])
"""


def _in_another_process(path: Path, vector: np.ndarray, *delete: str) -> None:
    import subprocess
    import sys

    args = [sys.executable, "-c", _OTHER_PROCESS, str(path), ",".join(str(float(v)) for v in vector), *delete]
    subprocess.run(args, check=True, capture_output=True, timeout=120)


def test_lance_follows_what_another_process_writes(tmp_path: Path) -> None:
    """API workers share a gallery folder: rows one writes must be found by the others' next search."""
    from sightings.identity.gallery.lance_store import LanceVectorStore

    data = _clustered(50, 8, 4)
    ids = [f"v{i}" for i in range(len(data))]
    store = LanceVectorStore(tmp_path / "g")
    store.upsert(ids, data)
    q = data[7] + 0.01
    assert store.search(q, k=1)[0].id == "v7" and store._mirror is not None  # served from the in-memory copy
    _in_another_process(tmp_path / "g", data[7] * 1.0001, "v7")
    hits = store.search(q, k=2)
    assert hits[0].id == "theirs" and "v7" not in {h.id for h in hits}
    assert store.count() == 50 and store._mirror is not None  # the copy was loaded again
    store.upsert(["mine"], data[8:9] * 1.0001)  # its own writes still keep the copy in step, without a reload
    mirror = store._mirror
    assert store.search(data[8], k=1)[0].id in {"mine", "v8"} and store._mirror is mirror and store.count() == 51


def test_lance_opened_empty_finds_the_table_another_process_creates(tmp_path: Path) -> None:
    from sightings.identity.gallery.lance_store import LanceVectorStore

    store = LanceVectorStore(tmp_path / "g")
    assert store.count() == 0 and store.search(np.ones(4, np.float32), k=1) == []
    _in_another_process(tmp_path / "g", np.ones(4, np.float32))
    assert [h.id for h in store.search(np.ones(4, np.float32), k=1)] == ["theirs"] and store.count() == 1


def test_numpy_follows_what_another_writer_saves(tmp_path: Path) -> None:
    """A reader (a prediction worker) sees the rows another store on the same file saved since, and deletions."""
    path = tmp_path / "g.npz"
    writer, reader = NumpyVectorStore(path), NumpyVectorStore(path)
    assert reader.count() == 0
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3, 8)).astype(np.float32)
    writer.upsert(["a", "b", "c"], vectors, [{"identity": "x"}] * 3)
    assert reader.count() == 3 and reader.search(vectors[1], k=1)[0].id == "b"
    writer.delete(["b"])
    assert sorted(reader.ids()) == ["a", "c"]
    assert reader.search(vectors[1], k=1)[0].id != "b"
    path.unlink()  # the file removed: the reader is empty, not stale
    assert reader.count() == 0


def test_numpy_a_replaced_file_that_cannot_be_read_is_an_outage_and_the_rows_held_stay(tmp_path: Path) -> None:
    path = tmp_path / "g.npz"
    writer, reader = NumpyVectorStore(path), NumpyVectorStore(path)
    vectors = np.eye(3, 8, dtype=np.float32)
    writer.upsert(["a", "b", "c"], vectors)
    assert reader.count() == 3
    good = path.read_bytes()
    path.write_bytes(b"not a gallery")  # being restored / damaged
    with pytest.raises(BackendUnavailableError, match="replaced and cannot be read now"):
        reader.search(vectors[0], k=1)
    with pytest.raises(BackendUnavailableError):  # still unreadable: still an outage, the rows held are kept
        reader.count()
    path.write_bytes(good)
    assert reader.search(vectors[2], k=1)[0].id == "c"
