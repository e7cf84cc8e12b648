"""The catalog: the identity engine's metadata store (identities, sightings) in SQL.

``SqlCatalog`` (registry name ``sql``) keeps a SQLite file at ``<data_dir>/catalog.sqlite`` by default, or uses
PostgreSQL by URL, and migrates its schema with Alembic on open. The records are plain dataclasses; SQLAlchemy is
imported only when ``SqlCatalog`` is first used. See docs/catalog.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sightings.identity.catalog.records import IdentityRecord, SightingRecord

if TYPE_CHECKING:
    from sightings.identity.catalog.store import SqlCatalog

__all__ = ["IdentityRecord", "SightingRecord", "SqlCatalog"]


def __getattr__(name: str) -> Any:
    if name == "SqlCatalog":
        from sightings.identity.catalog.store import SqlCatalog

        return SqlCatalog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
