"""Reading a JSON file with one clear error for every way it can be unreadable.

read_json(path, "manifest")                       # IntegrityError "unreadable manifest: ..." naming the path
read_json(sidecar, "sidecar", error=InputError)   # a user's file: an input error instead
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sightings.core.errors import IntegrityError, SightingsError

__all__ = ["read_json"]


def read_json(path: Path, what: str, *, error: type[SightingsError] = IntegrityError) -> Any:
    """The parsed JSON of ``path``; an unreadable file, bad UTF-8 or bad JSON raises ``error`` naming ``what``."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"unreadable {what}: {exc}", where=path) from exc
