"""Alembic environment of the pets tables (version table ``pets_alembic_version``), configured in code.

``sightings.solutions.pets.store`` passes an open connection in ``config.attributes["connection"]``.
Only the ``pets_*`` tables are compared on autogenerate: the catalog's tables belong to its own migrations.
"""

from __future__ import annotations

from alembic import context

from sightings.identity.catalog.migrate import run_solution_migrations
from sightings.solutions.pets.store_models import VERSION_TABLE, PetsBase

run_solution_migrations(context, PetsBase.metadata, version_table=VERSION_TABLE, table_prefix="pets_")
