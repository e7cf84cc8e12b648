"""The SQL catalog on SQLite (the default): the shared suite, plus files, URLs and bad input."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from catalog_suite import CatalogSuite, sighting

from sightings.core.errors import BackendUnavailableError, ConfigError, InputError, IntegrityError
from sightings.core.registry import METADATA_STORES
from sightings.identity.catalog import SqlCatalog, migrate


class TestSqliteCatalog(CatalogSuite):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"


def test_default_file_is_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGHTINGS_DATA_DIR", str(tmp_path / "data"))
    with SqlCatalog() as cat:
        cat.add_sighting(sighting(1))
        assert cat.where == f"sqlite:///{tmp_path / 'data' / 'catalog.sqlite'}"
    assert (tmp_path / "data" / "catalog.sqlite").is_file()
    with METADATA_STORES.create("sql", path=tmp_path / "data" / "catalog.sqlite") as again:
        assert again.get("e1")["owner"] == "alice"


def test_in_memory_url(tmp_path: Path) -> None:
    with SqlCatalog("sqlite://") as cat:
        cat.put("a", {"species": "cat"})
        assert cat.find(species="cat") == [{"species": "cat"}]
        assert cat.revision == migrate.head_revision()


def test_sqlite_stores_naive_utc_text(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with SqlCatalog(path=path) as cat:
        cat.add_sighting(sighting(1, t=datetime(2024, 6, 1, 8, 0, 0, 250000, tzinfo=UTC)))
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT t FROM sightings").fetchone() == ("2024-06-01 08:00:00.250000",)


def test_corrupt_file_is_an_integrity_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(b"this is not a database, just text\n" * 100)
    with pytest.raises(IntegrityError, match="not a readable SQLite catalog") as err:
        SqlCatalog(path=path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_truncated_catalog_is_an_integrity_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with SqlCatalog(path=path) as cat:
        cat.add_sightings([sighting(i, attributes={"pad": "x" * 2000}) for i in range(300)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(IntegrityError, match="malformed") as err:
        SqlCatalog(path=path).count_sightings()
    assert str(path) in str(err.value)


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE sightings (x INTEGER)")
    with pytest.raises(IntegrityError, match="not a sightings catalog"):
        SqlCatalog(path=path)


def test_bad_paths_and_urls(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        SqlCatalog(path=tmp_path)
    with pytest.raises(ConfigError, match="not both"):
        SqlCatalog("sqlite://", path=tmp_path / "x.sqlite")
    with pytest.raises(ConfigError, match="not a database URL"):
        SqlCatalog("not a url at all")
    with pytest.raises(ConfigError, match="unsupported database 'mysql'"):
        SqlCatalog("mysql://user@localhost/db")


def test_unreachable_postgres_is_backend_unavailable() -> None:
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    with pytest.raises(BackendUnavailableError, match="cannot connect") as err:
        SqlCatalog("postgresql+psycopg://someone:secret@127.0.0.1:1/catalog", connect_timeout_s=2)
    message = str(err.value)
    assert "\n" not in message and "secret" not in message and "127.0.0.1:1" in message


def test_autogenerate_writes_a_numbered_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    assert migrate.main(["revision", "nothing changed"]) == 0
    written = sorted(p.name for p in (copy / "versions").glob("*.py"))
    head = migrate.head_revision()
    assert written[-1] == f"{head}_nothing_changed.py" and int(head) == len(written)
    text = (copy / "versions" / written[-1]).read_text()
    assert "op." not in text.partition("def upgrade")[2], "models and revisions agree, so the new revision is empty"
