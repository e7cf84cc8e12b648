"""Crash safety: a process killed between the vector write and the catalog row is repaired on the next start;
SQLite databases run in WAL mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from wildlife_factories import animal, encode

pytestmark = pytest.mark.hardening
pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")

TESTS = Path(__file__).resolve().parents[1]

_CHILD = """
import sys
from sightings.solutions.wildlife.service import WildlifeService
service = WildlifeService(use_detector=False, use_clip=False)
service.enrol(open(sys.argv[1], "rb").read(), species="lion", individual="L9", where="new.png")
print("not reached: the crash point should have ended the process")
"""


def _service() -> Any:
    from sightings.solutions.wildlife.service import WildlifeService

    return WildlifeService(use_detector=False, use_clip=False)


def _repair(service: Any) -> list[Any]:
    from sightings.identity.consistency import SpeciesGallery, repair_catalog

    index = service.species("lion")
    return repair_catalog(service.catalog, {"lion": SpeciesGallery(index.matcher, index.media)})


@pytest.mark.parametrize("store", [pytest.param("lancedb", marks=pytest.mark.slow), "numpy"])
def test_kill_between_vector_and_catalog_row_is_repaired_on_start(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sightings.core.config import set_config_file

    monkeypatch.setenv("SIGHTINGS_WILDLIFE__VECTOR_STORE", store)
    set_config_file(None)
    service = _service()
    service.add_species("lion")
    for i in range(2):
        service.enrol(encode(animal(1, noise=3 + i, shift=2 * i)), species="lion", individual="L1", where=f"{i}.png")
    service.close()

    photo = tmp_path / "new.png"
    photo.write_bytes(encode(animal(9, noise=3)))
    env = {**os.environ, "SIGHTINGS_TEST_CRASH_AT": "wildlife.enrol", "PYTHONPATH": str(TESTS)}
    child = subprocess.run([sys.executable, "-c", _CHILD, str(photo)], env=env, capture_output=True, text=True)
    assert child.returncode == 86, child.stderr[-2000:]
    assert "not reached" not in child.stdout

    service = _service()
    index = service.species("lion")
    assert index.matcher.gallery.count() == 3 and service.catalog.count_sightings() == 2  # the orphan
    [report] = _repair(service)
    assert len(report.orphans_removed) == 1 and report.orphans_removed[0].startswith("lion-")
    assert index.matcher.gallery.count() == 2
    kept = sorted(s.embedding_id for s in service.catalog.find_sightings())
    assert sorted(p.stem for p in index.media.glob("*.png")) == kept
    # a lost vector (a restored catalog, a lost store) is rebuilt from the kept photo
    eid = service.catalog.find_sightings()[0].embedding_id
    index.matcher.gallery.delete([eid])
    [report] = _repair(service)
    assert report.readded == (eid,) and index.matcher.gallery.count() == 2
    hits = index.matcher.gallery.search(np.asarray(index.matcher.embedder.embed([animal(1, noise=3)]))[0], k=1)
    assert hits[0].metadata["identity"] == "L1"
    assert not _repair(service)[0].changed  # idempotent
    service.close()


def test_pets_repair_removes_orphans_and_readds_missing(pets_api: Any) -> None:
    from pets_factories import photo_of
    from sightings.solutions.pets.retention import repair_pets

    service = pets_api.service
    files = [("photos", ("c.png", encode(photo_of(5))))]
    r = pets_api.client.post("/v1/pets/posts", files=files, data={"kind": "found"}, headers=pets_api.headers("write"))
    eid = r.json()["animals"][0]["embedding_id"]
    gallery = service.matcher("found").gallery
    gallery.upsert(["ghost-0"], np.ones((1, gallery.dim), np.float32), [{"identity": "ghost"}])
    gallery.delete([eid])
    reports = {rep.gallery: rep for rep in repair_pets(service)}
    assert reports["pets_found"].orphans_removed == ("ghost-0",) and reports["pets_found"].readded == (eid,)
    assert sorted(gallery.ids()) == [eid]


def test_repair_command(tmp_path: Path) -> None:
    import os

    from sightings.cli import app

    data = Path(os.environ["SIGHTINGS_DATA_DIR"])
    result = CliRunner().invoke(app, ["repair", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [] and not (data / "wildlife").exists() and not (data / "pets").exists()
    bad = CliRunner().invoke(app, ["repair", "--solution", "retail"])
    assert bad.exit_code == 2


def test_sqlite_databases_use_wal(pets_api: Any) -> None:
    import sqlite3

    from sightings.api.auth import keys_db_path

    for path in (pets_api.settings.data_dir / "catalog.sqlite", keys_db_path(pets_api.settings)):
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal", path


@pytest.mark.parametrize("kind", ["numpy", "lancedb", "qdrant"])
def test_every_vector_store_lists_its_ids(kind: str, tmp_path: Path) -> None:
    from sightings.core.registry import VECTOR_STORES

    pytest.importorskip({"numpy": "numpy", "lancedb": "lancedb", "qdrant": "qdrant_client"}[kind])
    path = tmp_path / ("g.npz" if kind == "numpy" else "g")
    store = VECTOR_STORES.create(kind, path=path)
    assert list(store.ids()) == []
    vectors = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    store.upsert(["a", "b", "c"], vectors, [{"identity": "x"}] * 3)
    store.delete(["b"])
    assert sorted(store.ids()) == ["a", "c"]
    getattr(store, "close", lambda: None)()
