"""Reading feature run folders: ``manifest.json`` + one ``<module>.npz`` per module.

The content solution writes them (``<store>/<platform_id>/<video_id>/<run_id>/``, docs/content.md); its validator
and timeline, and the popularity dataset builder read them. Both sides use these readers, so the file format has
one reader in the engine (solutions do not import each other).

    load_manifest(run_dir) -> dict          the manifest as a JSON object (NotFoundError / IntegrityError)
    load_module(run_dir, name) -> arrays    one module's NPZ arrays (optionally only some keys)
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.errors import InputError, IntegrityError, NotFoundError
from sightings.core.json_files import read_json

__all__ = ["MANIFEST", "load_manifest", "load_module"]

MANIFEST = "manifest.json"


def load_manifest(run_dir: Path) -> dict[str, Any]:
    """The run's manifest (NotFoundError for a missing folder or manifest, InputError for a file given as the
    folder, IntegrityError for a broken manifest)."""
    path = run_dir / MANIFEST
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError("is a file, expected a run folder (the one holding manifest.json)", where=run_dir)
    if not run_dir.is_dir():
        raise NotFoundError("no such run folder", where=run_dir)
    if not path.is_file():
        raise NotFoundError("no manifest.json (not a content run folder)", where=run_dir)
    data = read_json(path, "manifest")
    if not isinstance(data, dict):
        raise IntegrityError("manifest is not a JSON object", where=path)
    return data


def load_module(
    run_dir: Path, name: str, *, file: str | None = None, keys: Collection[str] | None = None
) -> dict[str, np.ndarray]:
    """Arrays of one module's NPZ (``file`` as the manifest names it, default ``<name>.npz``; ``keys``: only these,
    where present). NotFoundError when the file is missing, IntegrityError when it cannot be read."""
    path = run_dir / (file or f"{name}.npz")
    if not path.is_file():
        raise NotFoundError(f"no output of module {name!r}", where=path)
    try:
        if not zipfile.is_zipfile(path):  # an NPZ is a zip; numpy would read anything else as a pickle, and say so
            raise IntegrityError("not an NPZ file (damaged, or another format)", where=path)
        with np.load(path, allow_pickle=False) as npz:
            wanted = npz.files if keys is None else [k for k in npz.files if k in keys]
            return {k: npz[k] for k in wanted}
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"unreadable NPZ: {exc}", where=path) from None
