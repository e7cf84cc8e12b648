"""Alembic environment of the wildlife tables (version table ``wildlife_alembic_version``), configured in code.

``sightings.solutions.wildlife.store`` passes an open connection in ``config.attributes["connection"]``.
Only the wildlife tables are compared on autogenerate: the catalog's tables belong to its own migrations.
"""

from __future__ import annotations

from alembic import context

from sightings.identity.catalog.migrate import run_solution_migrations
from sightings.solutions.wildlife.store_models import VERSION_TABLE, WildlifeBase

run_solution_migrations(context, WildlifeBase.metadata, version_table=VERSION_TABLE, table_prefix="wildlife_")
