"""A fingerprint of the code behind a cached measurement.

Benchmarks cache expensive intermediate results (detections, tracks) under a key of their settings. Settings alone
miss a change in the code itself: on 2026-11-30 the linker's second-stage gate changed while its options did not,
and the retail benchmark went on reading tracks made by the old linker for hours (docs/retail-accuracy.md). Putting
:func:`source_fingerprint` of the packages that make the cached result into the key turns such a change into a
cache miss.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

__all__ = ["source_fingerprint"]


def source_fingerprint(*packages: str) -> str:
    """SHA-256 (16 hex) over the ``.py`` files of the named packages (or modules): relative path and bytes, in
    sorted order. The same code gives the same fingerprint on any machine and checkout location."""
    digest = hashlib.sha256()
    for name in sorted(set(packages)):
        module = importlib.import_module(name)
        origin = Path(module.__file__ or "")
        root = origin.parent if origin.name == "__init__.py" else origin
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in files:
            digest.update(f"{name}:{path.relative_to(root.parent).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]
