"""The running engine (real app, uvicorn on 127.0.0.1) and the clients the intake/bot tests share.

The engine is ``create_app`` on a temporary data dir with the pets test service (numpy gallery, the colour-blob
'detector', keyword text understanding) — see ``pets_factories``. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pets_factories import API_KEY, encode, pets_service, photo_of
from sightings.api.local_server import LocalServer


@contextmanager
def running_engine(tmp_path: Path, **overrides: Any) -> Iterator[tuple[str, Any]]:
    """(engine URL, the service behind it) — the service only for the test's own checks."""
    from sightings.api.app import create_app

    service = pets_service(tmp_path, **overrides)
    app = create_app(service.settings)
    app.state.pets = service
    try:
        with LocalServer(app) as server:
            yield server.url, service
    finally:
        service.close()


def engine_client(url: str) -> Any:
    from sightings.solutions.pets.client import PetsClient

    return PetsClient(url, API_KEY, timeout_s=30)


def photo_bytes(individual: int, variant: int = 0, fmt: str = "PNG") -> bytes:
    """A photo of pet ``individual`` (another ``variant``: another photo of the same one). PNG by default: the blob
    test pets survive it losslessly, so a lost/found pair of the same pet is a *sure* match."""
    return encode(photo_of(individual, variant), fmt)
