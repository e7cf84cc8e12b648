"""Run keys, run folders and manifests: what makes a batch idempotent.

A run is keyed by ``(platform_id, video_id, job, config_hash)`` where ``config_hash`` is the SHA-256 of the
canonical JSON of ``{"job", "version", "config"}``. Its outputs live in

    <out>/runs/<job>/<platform_id>/<video_id>/<config_hash[:16]>/      manifest.json + the job's files

and appear there whole or not at all: the job writes into the sibling ``.<hash>.partial`` folder, the runner adds
``manifest.json`` (status ``complete``, each output's size and SHA-256, timings) and renames the folder into
place. A folder with a complete manifest is a finished run and is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sightings.core.atomic import atomic_write_text
from sightings.core.errors import ConfigError
from sightings.core.protocols import BatchItem

__all__ = [
    "MANIFEST_NAME",
    "RunKey",
    "config_hash",
    "file_sha256",
    "partial_dir",
    "publish_run",
    "read_manifest",
    "run_dir",
]

MANIFEST_NAME = "manifest.json"
HASH_DIR_CHARS = 16
PARTIAL_SUFFIX = ".partial"


def canonical_json(data: Any) -> str:
    """Sorted keys, no spaces, UTF-8: the same options always give the same text."""
    try:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"job options must be plain JSON values: {exc}", where="job config") from None


def config_hash(job: str, version: str, config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the job name, its version and its effective options."""
    text = canonical_json({"job": job, "version": version, "config": dict(config)})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class RunKey:
    """What identifies one run: the video's ids, the job and the hash of its configuration."""

    platform_id: str
    video_id: str
    job: str
    config_hash: str

    @classmethod
    def of(cls, item: BatchItem, job: str, hash_hex: str) -> RunKey:
        return cls(item.platform_id, item.video_id, job, hash_hex)

    @property
    def video(self) -> str:
        """``platform_id/video_id``, the video's name in logs and state lines."""
        return f"{self.platform_id}/{self.video_id}"

    def to_dict(self) -> dict[str, str]:
        return {
            "platform_id": self.platform_id,
            "video_id": self.video_id,
            "job": self.job,
            "config_hash": self.config_hash,
        }


def run_dir(out: Path, key: RunKey) -> Path:
    """``<out>/runs/<job>/<platform_id>/<video_id>/<config_hash[:16]>``."""
    return out / "runs" / key.job / key.platform_id / key.video_id / key.config_hash[:HASH_DIR_CHARS]


def partial_dir(final: Path) -> Path:
    """The temporary sibling a run is written into before it is renamed to ``final``."""
    return final.with_name(f".{final.name}{PARTIAL_SUFFIX}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(final: Path) -> dict[str, Any] | None:
    """The manifest of a complete run at ``final``, or ``None`` (absent, unreadable, or not complete)."""
    try:
        data = json.loads((final / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("status") != "complete":
        return None
    return data


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def list_outputs(folder: Path) -> list[dict[str, Any]]:
    """Every file under ``folder`` (but the manifest) with its size and SHA-256, in path order."""
    outputs = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel == MANIFEST_NAME:
            continue
        outputs.append({"path": rel, "bytes": path.stat().st_size, "sha256": file_sha256(path)})
    return outputs


def publish_run(work: Path, final: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Add ``manifest.json`` (with the outputs' checksums) to ``work`` and rename it to ``final`` atomically.

    A stale ``final`` without a complete manifest (which the runner never leaves) is replaced.
    """
    for path in work.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    full = {**manifest, "status": "complete", "outputs": list_outputs(work)}
    atomic_write_text(work / MANIFEST_NAME, json.dumps(full, indent=2, ensure_ascii=False, default=str) + "\n")
    if final.exists() and read_manifest(final) is None:
        shutil.rmtree(final)
    work.rename(final)
    _fsync_dir(final.parent)
    return full


def verify_outputs(final: Path, manifest: Mapping[str, Any]) -> list[str]:
    """Problems with a complete run's files (missing, size or checksum changed); empty when all is well."""
    problems = []
    for entry in manifest.get("outputs", []):
        path = final / str(entry["path"])
        if not path.is_file():
            problems.append(f"{entry['path']}: missing")
        elif path.stat().st_size != entry["bytes"] or file_sha256(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: changed since the run")
    return problems
