"""API keys on write endpoints: the ``X-API-Key`` header checked against a solution's configured keys.

    check_api_key(settings.pets.api_keys, given, env="SIGHTINGS_PETS__API_KEYS")

No key configured: every write is refused (403), so a fresh server is read-only. A missing or wrong key: 401.
Keys are compared in constant time.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from fastapi import HTTPException
from pydantic import SecretStr

__all__ = ["check_api_key"]


def check_api_key(keys: Sequence[SecretStr], given: str | None, *, env: str) -> None:
    """Raise 403 when no key is configured (``env`` names the variable to set), 401 when ``given`` is not one."""
    plain = [k.get_secret_value() for k in keys]
    if not plain:
        raise HTTPException(403, f"no API keys are configured on this server (set {env})")
    if not given or not any(secrets.compare_digest(given, k) for k in plain):
        raise HTTPException(401, "missing or wrong X-API-Key header", headers={"WWW-Authenticate": "X-API-Key"})
