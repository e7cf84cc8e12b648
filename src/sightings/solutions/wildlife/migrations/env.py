"""Alembic environment of the wildlife tables (version table ``wildlife_alembic_version``), configured in code.

``sightings.solutions.wildlife.store`` passes an open connection in ``config.attributes["connection"]``.
Only the wildlife tables are compared on autogenerate: the catalog's tables belong to its own migrations.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from sightings.identity.catalog.models import UtcDateTime
from sightings.solutions.wildlife.store_models import VERSION_TABLE, WildlifeBase

config = context.config
target_metadata = WildlifeBase.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return type_ != "table" or bool(name and name.startswith("wildlife_") and name != VERSION_TABLE)


def _run_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        include_name=_include_name,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if given is None:  # pragma: no cover - the store always passes a connection
    raise RuntimeError("the wildlife migrations run through sightings.solutions.wildlife.store")
_run_online(given)
