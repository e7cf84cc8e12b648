"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` from Debian's ``postgresql`` package.

The server lives in a temporary folder, listens on a free local port, trusts local connections, and runs as
``nobody`` when the tests run as root (PostgreSQL refuses to run as root). It runs in Asia/Vladivostok time so the
tests prove that times come back in UTC whatever the session zone. :func:`start_server` skips the calling test
when the binaries or the ``psycopg`` driver are absent (``make test`` installs both).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

SERVER_ZONE = "Asia/Vladivostok"
_databases = itertools.count()


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


class PostgresServer:
    """One server; :attr:`url` is the SQLAlchemy base URL (``postgresql+psycopg://postgres@host:port``)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.base = Path(tempfile.mkdtemp(prefix="sightings-pg-"))
        self.data = self.base / "data"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                shutil.rmtree(self.base, ignore_errors=True)
                pytest.skip("running as root and no runuser to start PostgreSQL as an unprivileged user")
            shutil.chown(self.base, "nobody", "nogroup")
            self._as_user = ["runuser", "-u", "nobody", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_user, str(self.bin_dir / tool), *args], capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            log = self.base / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()} {tail}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c TimeZone={SERVER_ZONE}"
        log = str(self.base / "log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "30", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as if it crashed)."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, prefix: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(_databases)}"
        dsn = self.url.replace("postgresql+psycopg", "postgresql") + "/postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"{self.url}/{name}"

    def remove(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def start_server() -> PostgresServer:
    """A started server, or a skip saying what is missing."""
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql")
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except BaseException:
        server.remove()
        raise
    return server
