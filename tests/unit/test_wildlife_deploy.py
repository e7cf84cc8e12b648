"""Deploy files: the compose file parses and wires api + postgres + qdrant; the entrypoint runs offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_models_store import make_onnx

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_parses_and_wires_the_services() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"api", "postgres", "qdrant"}
    api = services["api"]
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    env = api["environment"]
    assert env["SIGHTINGS_WILDLIFE__CATALOG_URL"].startswith("postgresql+psycopg://")
    assert (
        env["SIGHTINGS_WILDLIFE__VECTOR_STORE"] == "qdrant"
        and "qdrant:6333" in env["SIGHTINGS_WILDLIFE__VECTOR_STORE_URL"]
    )
    assert any(v.endswith(":/models:ro") for v in api["volumes"]), "models are mounted read-only"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["sightings-entrypoint"]' in dockerfile and "deploy/entrypoint.sh" in dockerfile


def _entrypoint(tmp_path: Path, models: Path, *args: str) -> subprocess.CompletedProcess[str]:
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("needs a POSIX shell")
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTINGS_")}
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "SIGHTINGS_DATA_DIR": str(tmp_path / "data"),
        "SIGHTINGS_MODELS_DIR": str(models),
        "SIGHTINGS_BIN": str(bin_dir / "sightings"),
        # offline: no proxy can be reached, and nothing may try
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
    }
    return subprocess.run(
        [sh, str(ROOT / "deploy" / "entrypoint.sh"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_entrypoint_checks_a_mounted_models_dir_offline(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    from sightings.models.store import ModelStore

    models = tmp_path / "models"
    store = ModelStore(models)
    store.import_file(make_onnx(tmp_path / "tiny.onnx"), "tiny", task="embed")
    out = _entrypoint(tmp_path, models, "check")
    assert out.returncode == 0, out.stderr
    assert "models verified, catalog migrated" in out.stderr
    assert (tmp_path / "data" / "catalog.sqlite").is_file()

    (models / "tiny" / store.get("tiny").file).write_bytes(b"tampered")
    bad = _entrypoint(tmp_path, models, "check")
    assert bad.returncode == 6, bad.stderr
    missing = _entrypoint(tmp_path, tmp_path / "nope", "check")
    assert missing.returncode == 3 and "not mounted" in missing.stderr
