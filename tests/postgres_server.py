"""A throwaway PostgreSQL server for tests (:class:`sightings.testing.postgres.ThrowawayPostgres`), in
Asia/Vladivostok time so the tests prove that times come back in UTC whatever the session zone.

:func:`start_server` skips the calling test when the server binaries or the ``psycopg`` driver are absent
(``make test`` installs both: ``postgresql`` in ``make system-deps``, the ``postgres`` extra).
"""

from __future__ import annotations

import pytest

from sightings.testing.postgres import PostgresUnavailableError, ThrowawayPostgres

SERVER_ZONE = "Asia/Vladivostok"


def start_server() -> ThrowawayPostgres:
    """A started server, or a skip saying what is missing."""
    try:
        server = ThrowawayPostgres(zone=SERVER_ZONE)
    except PostgresUnavailableError as exc:
        pytest.skip(str(exc))
    try:
        server.start()
    except BaseException:
        server.remove()
        raise
    return server
