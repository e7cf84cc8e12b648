"""The SQL catalog on a real PostgreSQL: the shared suite against a throwaway server started here
(``tests/postgres_server.py``: initdb + pg_ctl from Debian's ``postgresql`` package, in Asia/Vladivostok time so the
tests prove that times come back in UTC whatever the session zone). Skipped when the binaries or the ``psycopg``
driver are absent (``make test`` installs both: ``postgresql`` in ``make system-deps``, the ``postgres`` extra).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from catalog_suite import CatalogSuite, sighting

from postgres_server import SERVER_ZONE, start_server
from sightings.identity.catalog import SqlCatalog
from sightings.testing.postgres import ThrowawayPostgres


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    server = start_server()
    yield server
    server.remove()


class TestPostgresCatalog(CatalogSuite):
    @pytest.fixture
    def catalog_url(self, postgres_server: ThrowawayPostgres) -> str:
        return postgres_server.create_database("catalog")

    def test_times_are_timestamptz_and_utc_whatever_the_session_zone(self, catalog: SqlCatalog) -> None:
        import sqlalchemy as sa

        catalog.add_sighting(sighting(1, t=datetime(2024, 1, 1, 12, tzinfo=UTC)))
        engine = sa.create_engine(catalog.where)
        with engine.connect() as connection:
            zone = connection.execute(sa.text("SHOW TimeZone")).scalar_one()
            kind = connection.execute(sa.text("SELECT pg_typeof(t)::text FROM sightings")).scalar_one()
        engine.dispose()
        assert zone == SERVER_ZONE and kind == "timestamp with time zone"
        t = catalog.get_sighting("e1").t
        assert t == datetime(2024, 1, 1, 12, tzinfo=UTC) and t is not None and t.tzinfo == UTC
