"""Run folders: ``<store>/<platform_id>/<video_id>/<run_id>/manifest.json`` + ``<module>.npz`` (+ ``frames/``).

The manifest records, per module: status (``ok`` / ``skipped`` / ``failed``), reason, version, schema version,
seconds, the NPZ file and its keys; and for the run: source video, config, config_hash, timings, warnings.
The folder is written through :func:`~sightings.core.atomic.atomic_dir`: it appears whole or not at all.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.errors import InputError, IntegrityError, NotFoundError
from sightings.solutions.content.spec import ModuleOutput

__all__ = ["MANIFEST", "MANIFEST_VERSION", "config_hash", "load_manifest", "load_module", "npz_bytes", "run_dir_for"]

MANIFEST = "manifest.json"
MANIFEST_VERSION = "1"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_id(value: str, where: str) -> str:
    """A platform or video id usable as a folder name (letters, digits, ``._-``)."""
    if not _SAFE_ID.match(value):
        raise InputError(f"must be 1-128 letters, digits, '.', '_' or '-', got {value!r}", where=where)
    return value


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``config`` (module versions and options)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_dir_for(store: Path, platform_id: str, video_id: str, run_id: str) -> Path:
    return store / check_id(platform_id, "--platform") / check_id(video_id, "--video-id") / run_id


def npz_bytes(output: ModuleOutput) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **output)  # type: ignore[arg-type]
    return buf.getvalue()


def load_manifest(run_dir: Path) -> dict[str, Any]:
    """The run's manifest (NotFoundError / IntegrityError with the file named)."""
    path = run_dir / MANIFEST
    if not run_dir.is_dir():
        raise NotFoundError("no such run folder", where=run_dir)
    if not path.is_file():
        raise NotFoundError("no manifest.json (not a content run folder)", where=run_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"unreadable manifest: {exc}", where=path) from None
    if not isinstance(data, dict):
        raise IntegrityError("manifest is not a JSON object", where=path)
    return data


def load_module(run_dir: Path, name: str) -> dict[str, np.ndarray]:
    """Arrays of one module's NPZ."""
    path = run_dir / f"{name}.npz"
    if not path.is_file():
        raise NotFoundError(f"no output of module {name!r}", where=path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"unreadable NPZ: {exc}", where=path) from None
