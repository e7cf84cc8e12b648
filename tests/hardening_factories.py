"""A pets API with one stored key per role, for the hardening tests (tests/hardening)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class PetsApi:
    """A TestClient on a pets service (numpy galleries, blob detector) with one stored key per role."""

    def __init__(self, tmp: Path, **overrides: Any) -> None:
        from fastapi.testclient import TestClient

        from pets_factories import pets_service
        from sightings.api.app import create_app
        from sightings.api.auth import key_store

        self.service = pets_service(tmp, **overrides)
        self.settings = self.service.settings
        self.app = create_app(self.settings)
        self.app.state.pets = self.service
        store = key_store(self.settings)
        self.keys = {role: store.create(f"{role}-test", role)[0] for role in ("read", "write", "admin")}
        self.client = TestClient(self.app)

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}

    def close(self) -> None:
        self.client.close()
        self.service.close()
