"""The SQL catalog on a real PostgreSQL: the shared suite against a throwaway server started here.

The server is made with ``initdb`` + ``pg_ctl`` from /usr/lib/postgresql/*/bin (Debian's ``postgresql``
package) in a temporary folder, on a free local port, as ``nobody`` when the tests run as root (PostgreSQL
refuses to run as root). Skipped when the binaries or the ``psycopg`` driver are absent. The server runs in
Asia/Vladivostok time so the tests prove that times come back in UTC whatever the session zone.
Marked ``slow`` (``make test-all`` runs it).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from catalog_suite import CatalogSuite, sighting

from sightings.identity.catalog import SqlCatalog

SERVER_ZONE = "Asia/Vladivostok"
pytestmark = pytest.mark.slow  # ~8 s on 2 cores: server start + a database per test


def _pg_bin_dir() -> Path | None:
    for initdb in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True):
        if (initdb.parent / "pg_ctl").is_file():
            return initdb.parent
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    """Start a throwaway PostgreSQL server; yield a libpq-style base URL (``postgresql+psycopg://postgres@host:port``)."""
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="sightings-pg-"))
    if os.geteuid() == 0:  # postgres refuses to run as root
        if shutil.which("runuser") is None:
            shutil.rmtree(base, ignore_errors=True)
            pytest.skip("running as root and no runuser to start PostgreSQL as an unprivileged user")
        shutil.chown(base, "nobody", "nogroup")
        as_user = ["runuser", "-u", "nobody", "--"]
    data, port = base / "data", _free_port()
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c TimeZone={SERVER_ZONE}"

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = (base / "log").read_text(errors="replace")[-2000:] if (base / "log").exists() else ""
            pytest.fail(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()} {log}")

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "30", "-o", options, "start")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], timeout=60)
        shutil.rmtree(base, ignore_errors=True)


_databases = itertools.count()


class TestPostgresCatalog(CatalogSuite):
    @pytest.fixture
    def catalog_url(self, postgres_server: str) -> str:
        import psycopg

        name = f"catalog_{os.getpid()}_{next(_databases)}"
        dsn = postgres_server.replace("postgresql+psycopg", "postgresql") + "/postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"{postgres_server}/{name}"

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
