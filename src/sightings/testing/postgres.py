"""A throwaway PostgreSQL server, for tests and benchmarks: ``initdb`` + ``pg_ctl`` from Debian's ``postgresql``.

    server = ThrowawayPostgres()          # PostgresUnavailableError when the binaries or psycopg are missing
    server.start()
    url = server.create_database("soak")  # postgresql+psycopg://postgres@127.0.0.1:<port>/soak_<pid>_<n>
    server.stop("fast"); server.start()   # a restart, as a fault to survive
    server.remove()

The server lives in a temporary folder, listens on a free local port, trusts local connections and does not
fsync (it is thrown away). When the caller is root it runs as ``nobody`` (PostgreSQL refuses to run as root).
``zone`` sets the server's time zone, so callers can prove that times come back in UTC whatever the session zone.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresUnavailableError", "ThrowawayPostgres", "find_postgres_binaries"]

_databases = itertools.count()


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL cannot be started here (no server binaries, no psycopg, root without ``runuser``)."""


def find_postgres_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first), else None."""
    for initdb in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True):
        if (initdb.parent / "pg_ctl").is_file():
            return initdb.parent
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    """One server in a temporary folder (made by ``initdb`` here, not started); :attr:`url` is its SQLAlchemy base
    URL, ``postgresql+psycopg://postgres@127.0.0.1:<port>``."""

    def __init__(self, *, zone: str = "UTC") -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise PostgresUnavailableError("the postgres extra (psycopg) is not installed") from None
        bin_dir = find_postgres_binaries()
        if bin_dir is None:
            raise PostgresUnavailableError(
                "PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql"
            )
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise PostgresUnavailableError(
                    "running as root and no runuser to start PostgreSQL as an unprivileged user"
                )
            self._as_user = ["runuser", "-u", "nobody", "--"]
        self.bin_dir = bin_dir
        self.zone = zone
        self.base = Path(tempfile.mkdtemp(prefix="sightings-pg-"))
        if self._as_user:
            shutil.chown(self.base, "nobody", "nogroup")
        self.data = self.base / "data"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        except BaseException:
            shutil.rmtree(self.base, ignore_errors=True)
            raise

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_user, str(self.bin_dir / tool), *args], check=False, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            log = self.base / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()} {tail}")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c TimeZone={self.zone}"
        log = str(self.base / "log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "30", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (a clean shutdown) or ``immediate`` (as if it crashed)."""
        if self.running:
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
        """Stop the server (immediately) and delete its folder."""
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
