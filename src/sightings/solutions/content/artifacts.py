"""Run folders: ``<store>/<platform_id>/<video_id>/<run_id>/manifest.json`` + ``<module>.npz`` (+ ``frames/``).

The manifest records, per module: status (``ok`` / ``skipped`` / ``failed``), reason, version, schema version,
seconds, the NPZ file and its keys; and for the run: source video, config, config_hash, timings, warnings.
The folder is written through :func:`~sightings.core.atomic.atomic_dir`: it appears whole or not at all. The
readers (``load_manifest``, ``load_module``) and the manifest's file name live in the engine
(:mod:`sightings.runner.run_folders`), shared with the popularity dataset builder.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.errors import InputError
from sightings.solutions.content.spec import ModuleOutput

__all__ = ["MANIFEST_VERSION", "config_hash", "npz_bytes", "run_dir_for"]

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
