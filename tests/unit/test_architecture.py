"""House rules checked by tests: layers point down, and importing the package pulls in no heavy backend."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "sightings"

# A package may import only packages of its own layer or below.
LAYERS = {
    "core": 0,
    "testing": 1,
    "media": 1,
    "models": 1,
    "vision": 2,
    "identity": 2,
    "analytics": 2,
    "runner": 2,
    "evaluate": 2,
    "solutions": 3,
    "api": 4,
    "web": 4,
    "cli": 4,
}
HEAVY = ("av", "cv2", "onnxruntime", "ai_edge_litert", "lancedb", "chdb", "torch", "PIL", "imagehash", "uvicorn")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_layers_point_down_only() -> None:
    bad = []
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).parts
        if len(parts) < 2:
            continue
        own = parts[0]
        for mod in _imports(path):
            if not mod.startswith("sightings."):
                continue
            target = mod.split(".")[1]
            if target in LAYERS and own in LAYERS and LAYERS[target] > LAYERS[own]:
                bad.append(f"{path.relative_to(SRC)} imports {mod}")
            if own == "solutions" and target == "solutions" and len(parts) > 2 and mod.split(".")[2:3] != [parts[1]]:
                bad.append(f"{path.relative_to(SRC)} imports another solution: {mod}")
    assert not bad, "\n".join(bad)


def test_import_and_help_pull_no_heavy_backend() -> None:
    code = (
        "import sys, sightings, sightings.core.registry, sightings.core.config, sightings.cli\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported at start-up: {out.stdout.strip()}"
