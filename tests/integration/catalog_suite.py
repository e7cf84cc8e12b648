"""Catalog tests every database must pass; test_catalog.py (SQLite) and test_catalog_postgres.py subclass them.

A subclass provides a ``catalog_url`` fixture: the URL of a fresh, empty database for each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from sightings.core.errors import InputError, IntegrityError, NotFoundError
from sightings.core.protocols import MetadataStore
from sightings.core.types import Box, Place
from sightings.identity.catalog import SightingRecord, SqlCatalog, migrate
from sightings.identity.catalog.models import Base

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MSK = timezone(timedelta(hours=3))


def ids(found: list[SightingRecord]) -> list[str]:
    return [s.embedding_id for s in found]


def sighting(i: int, **fields: object) -> SightingRecord:
    values: dict[str, object] = {
        "media_uri": f"file:///photos/{i}.jpg",
        "box": Box(i, 2, i + 10, 22),
        "owner": "alice" if i % 2 else "bob",
        "source": "cam-1",
        "t": T0 + timedelta(hours=i),
        "place": Place(55.75, 37.62, "yard") if i % 3 else Place(zone="gate"),
        "species": "cat",
        "side": "left",
        "quality": 0.5,
        "embedder": "color-texture",
        "dim": 256,
        "attributes": {"colour": "ginger", "n": i},
    }
    values.update(fields)
    return SightingRecord(f"e{i}", **values)  # type: ignore[arg-type]


class CatalogSuite:
    @pytest.fixture
    def catalog(self, catalog_url: str) -> Iterator[SqlCatalog]:
        with SqlCatalog(catalog_url) as cat:
            yield cat

    # -------------------------------------------------------------- the MetadataStore protocol

    def test_protocol_round_trip(self, catalog: SqlCatalog) -> None:
        assert isinstance(catalog, MetadataStore)
        record = {"identity": "leo", "source": "cam", "t": datetime(2024, 1, 1, 12, tzinfo=MSK), "box": [1, 2, 3, 4]}
        catalog.put("s1", {**record, "colour": "red", "tags": ["a", "b"]})
        catalog.put("s2", {"identity": "max", "source": "cam", "colour": "black"})
        got = catalog.get("s1")
        assert got["t"] == datetime(2024, 1, 1, 9, tzinfo=UTC) and got["t"].tzinfo == UTC
        assert got == {**record, "box": [1.0, 2.0, 3.0, 4.0], "colour": "red", "tags": ["a", "b"]}
        assert [r["identity"] for r in catalog.find(source="cam")] == ["leo", "max"]
        assert [r["identity"] for r in catalog.find(colour="black")] == ["max"]
        assert catalog.find(tags=["a", "b"], box=Box(1, 2, 3, 4))[0]["identity"] == "leo"
        assert catalog.find(t=datetime(2024, 1, 1, 9, tzinfo=UTC))[0]["identity"] == "leo"
        assert len(catalog.find(uri=None)) == 2
        assert catalog.find(colour="blue") == []
        catalog.put("s1", {"source": "post"})  # put replaces the whole record
        assert catalog.get("s1") == {"source": "post"}
        assert catalog.get_identity("leo").label == "leo"  # created by put
        with pytest.raises(NotFoundError, match="nope"):
            catalog.get("nope")

    def test_protocol_bad_records(self, catalog: SqlCatalog) -> None:
        with pytest.raises(InputError, match=r"SightingRecord\.t.*naive"):
            catalog.put("s1", {"t": datetime(2024, 1, 1)})
        with pytest.raises(InputError, match=r"find\.t"):
            catalog.find(t=datetime(2024, 1, 1))
        with pytest.raises(InputError, match="box"):
            catalog.put("s1", {"box": [1, 2, 3]})
        with pytest.raises(InputError, match="JSON"):
            catalog.put("s1", {"blob": object()})
        assert catalog.count_sightings() == 0

    # -------------------------------------------------------------- typed API

    def test_sightings_round_trip_and_assignment(self, catalog: SqlCatalog) -> None:
        leo = catalog.add_identity("Leo", species="cat", owner="alice", attributes={"chip": "123"})
        assert catalog.get_identity(leo.id) == leo and leo.created_at is not None and leo.created_at.tzinfo == UTC
        records = [sighting(i) for i in range(5)]
        assert catalog.add_sightings(records) == 5
        assert catalog.get_sighting("e3") == records[3]
        assert catalog.get_sighting("e0").place == Place(zone="gate")
        assert catalog.assign_identity(["e3", "e1"], leo.id) == 2
        assert catalog.add_sighting(sighting(9, identity_id=leo.id, t=T0 - timedelta(days=1))).identity_id == leo.id
        assert [s.embedding_id for s in catalog.sightings_of(leo.id)] == ["e9", "e1", "e3"]
        with pytest.raises(NotFoundError, match="e77"):
            catalog.assign_identity(["e0", "e77"], leo.id)
        assert catalog.get_sighting("e0").identity_id is None, "a refused assignment changes nothing"
        with pytest.raises(NotFoundError, match="ghost"):
            catalog.assign_identity("e0", "ghost")
        with pytest.raises(NotFoundError, match="ghost"):
            catalog.sightings_of("ghost")
        assert catalog.assign_identity("e1", None) == 1
        assert [s.embedding_id for s in catalog.find_sightings(unassigned=True)] == ["e0", "e1", "e2", "e4"]

    def test_find_sightings_filters(self, catalog: SqlCatalog) -> None:
        catalog.add_sightings([sighting(i) for i in range(6)] + [sighting(6, t=None, species="dog")])
        assert ids(catalog.find_sightings(owner="alice")) == ["e1", "e3", "e5"]
        assert ids(catalog.find_sightings(species="dog")) == ["e6"]
        assert ids(catalog.find_sightings(zone="gate")) == ["e0", "e3", "e6"]
        assert ids(catalog.find_sightings()) == ["e0", "e1", "e2", "e3", "e4", "e5", "e6"], "no time sorts last"
        since = (T0 + timedelta(hours=2)).astimezone(MSK)  # any zone in; compared in UTC
        assert ids(catalog.find_sightings(since=since, until=T0 + timedelta(hours=4))) == ["e2", "e3"]
        assert ids(catalog.find_sightings(owner="bob", since=since, limit=1)) == ["e2"]
        with pytest.raises(InputError, match="until"):
            catalog.find_sightings(until=datetime(2024, 1, 1))

    def test_times_are_utc_in_and_out(self, catalog: SqlCatalog) -> None:
        catalog.add_sighting(sighting(1, t=datetime(2024, 3, 1, 23, 30, 0, 123456, tzinfo=MSK)))
        t = catalog.get_sighting("e1").t
        assert t == datetime(2024, 3, 1, 20, 30, 0, 123456, tzinfo=UTC) and t is not None and t.tzinfo == UTC
        with pytest.raises(InputError, match="naive"):
            sighting(2, t=datetime(2024, 3, 1))
        with pytest.raises(InputError, match="naive"):
            catalog.add_identity("x", created_at=datetime(2024, 3, 1))

    def test_delete_rules(self, catalog: SqlCatalog) -> None:
        a = catalog.add_identity("A", identity_id="a")
        b = catalog.add_identity("B", identity_id="b")
        catalog.add_sightings(
            [sighting(1, identity_id=a.id), sighting(2, identity_id=a.id), sighting(3, identity_id=b.id)]
        )
        assert catalog.delete_identity(a.id) == []  # sightings kept, unassigned
        assert catalog.get_sighting("e1").identity_id is None and catalog.count_sightings() == 3
        assert catalog.delete_identity(b.id, with_sightings=True) == ["e3"]
        assert catalog.count_sightings() == 2 and catalog.count_identities() == 0
        assert catalog.delete_sightings(["e1", "zz"]) == ["e1"]
        with pytest.raises(NotFoundError):
            catalog.get_sighting("e1")
        with pytest.raises(NotFoundError):
            catalog.delete_identity("a")

    def test_failing_batch_writes_nothing(self, catalog: SqlCatalog) -> None:
        catalog.add_sighting(sighting(5000))
        # 600 rows go to the database in two flushes; the duplicate is in the second one, after 500 were sent.
        batch = [sighting(i) for i in range(599)] + [sighting(5000)]
        with pytest.raises(InputError, match="e5000"):
            catalog.add_sightings(batch)
        assert catalog.count_sightings() == 1
        with pytest.raises(NotFoundError, match="ghost"):
            catalog.add_sightings([sighting(1), sighting(2, identity_id="ghost")])
        with pytest.raises(InputError, match="twice"):
            catalog.add_sightings([sighting(1), sighting(1)])
        with pytest.raises(InputError, match=r"sightings\.owner"):
            catalog.add_sightings([sighting(1), sighting(2, owner="x" * 500)])
        assert catalog.count_sightings() == 1

    def test_duplicate_identity_and_update(self, catalog: SqlCatalog) -> None:
        catalog.add_identity("Leo", identity_id="leo")
        with pytest.raises(InputError, match="already"):
            catalog.add_identity("Other", identity_id="leo")
        updated = catalog.update_identity("leo", label="Leo II", attributes={"age": 3})
        assert catalog.get_identity("leo") == updated and updated.label == "Leo II"
        catalog.add_identity("Max", identity_id="max", species="dog", owner="bob")
        assert [i.id for i in catalog.list_identities()] == ["leo", "max"]
        assert [i.id for i in catalog.list_identities(species="dog")] == ["max"]
        assert [i.id for i in catalog.list_identities(owner="alice")] == []
        with pytest.raises(NotFoundError):
            catalog.get_identity("nobody")

    # -------------------------------------------------------------- persistence and migrations

    def test_reopen_keeps_data(self, catalog_url: str) -> None:
        with SqlCatalog(catalog_url) as first:
            first.add_sighting(sighting(1))
            assert first.revision == migrate.head_revision()
        with SqlCatalog(catalog_url) as second:
            assert second.get_sighting("e1") == sighting(1)

    def test_models_agree_with_migrations(self, catalog: SqlCatalog, catalog_url: str) -> None:
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.migration import MigrationContext

        engine = sa.create_engine(catalog_url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        engine.dispose()
        assert diff == [], "models.py and the Alembic revisions disagree: write a revision (docs/catalog.md)"

    def test_old_revision_is_upgraded(self, catalog_url: str) -> None:
        engine = sa.create_engine(catalog_url)
        assert migrate.upgrade(engine, where="test", to="0001") == "0001"
        with engine.begin() as connection:
            columns = "embedding_id, media_uri, identity_id, t, attributes"
            old_t = "2024-01-01 12:00:00" if engine.dialect.name == "sqlite" else datetime(2024, 1, 1, 12, tzinfo=UTC)
            insert = f"INSERT INTO sightings ({columns}) VALUES ('old', 'a.jpg', NULL, :t, '{{}}')"
            connection.execute(sa.text(insert), {"t": old_t})
            indexes = {ix["name"] for ix in sa.inspect(connection).get_indexes("sightings")}
        assert "ix_sightings_owner" not in indexes
        with SqlCatalog(catalog_url) as cat:
            assert cat.revision == migrate.head_revision() != "0001"
            assert cat.get_sighting("old").t == datetime(2024, 1, 1, 12, tzinfo=UTC)
        with engine.connect() as connection:
            assert "ix_sightings_owner" in {ix["name"] for ix in sa.inspect(connection).get_indexes("sightings")}
        engine.dispose()

    def test_newer_unknown_revision_is_refused(self, catalog: SqlCatalog, catalog_url: str) -> None:
        catalog.close()
        engine = sa.create_engine(catalog_url)
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        engine.dispose()
        with pytest.raises(IntegrityError, match=r"'9999'.*newer version") as err:
            SqlCatalog(catalog_url)
        assert "\n" not in str(err.value)

    def test_concurrent_first_opens_migrate_once(self, catalog_url: str) -> None:
        def open_and_add(i: int) -> str:
            with SqlCatalog(catalog_url) as cat:
                cat.add_sighting(sighting(i))
                return cat.revision

        with ThreadPoolExecutor(4) as pool:
            revisions = set(pool.map(open_and_add, range(4)))
        assert revisions == {migrate.head_revision()}
        with SqlCatalog(catalog_url) as cat:
            assert cat.count_sightings() == 4
