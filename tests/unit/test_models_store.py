"""ModelStore: import, verify, corrupt, remove, overwrite, wrong type, missing — with tiny generated model files."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sightings.core.errors import InputError, IntegrityError, NotFoundError
from sightings.models.catalog import CATALOG
from sightings.models.store import (
    MANIFEST_NAME,
    ModelInput,
    ModelManifest,
    ModelStore,
    detect_format,
    file_sha256,
)


def make_tflite(path: Path, payload: bytes = b"weights" * 100) -> Path:
    """A fake TFLite flatbuffer: root offset, then the 'TFL3' file identifier at bytes 4..8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + payload)
    return path


def make_onnx(path: Path) -> Path:
    """A real one-node ONNX model (Identity), made with the ``onnx`` package."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "tiny", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


@pytest.fixture
def tflite(tmp_path: Path) -> Path:
    return make_tflite(tmp_path / "src" / "tiny.tflite")


def test_import_tflite_writes_folder_and_manifest(store: ModelStore, tflite: Path) -> None:
    manifest = store.import_file(
        tflite,
        "tiny",
        task="detect",
        input=ModelInput(width=300, height=300, normalisation="[-1,1]"),
        licence="Apache-2.0",
        output="raw boxes",
    )
    assert manifest.format == "tflite"
    assert manifest.sha256 == file_sha256(tflite)
    assert manifest.size_bytes == tflite.stat().st_size
    assert manifest.source == f"file:{tflite.resolve()}"
    assert manifest.installed_at.utcoffset() is not None
    folder = store.root / "tiny"
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST_NAME, "tiny.tflite"]
    on_disk = json.loads((folder / MANIFEST_NAME).read_text())
    assert on_disk["name"] == "tiny"
    assert on_disk["input"]["width"] == 300
    assert on_disk["installed_at"].endswith("Z")
    assert store.get("tiny") == manifest
    assert store.path("tiny") == folder / "tiny.tflite"
    assert [m.name for m in store.list()] == ["tiny"]
    assert "tiny" in store
    assert store.labels("tiny") == []
    assert [r.ok for r in store.verify()] == [True]
    assert store.require_verified("tiny") == manifest
    # nothing else was left in the models dir (no partial folders)
    assert sorted(p.name for p in store.root.iterdir()) == ["tiny"]


def test_import_onnx_by_suffix_and_by_content(store: ModelStore, tmp_path: Path) -> None:
    onnx_file = make_onnx(tmp_path / "src" / "tiny.onnx")
    manifest = store.import_file(onnx_file, "tiny-onnx", task="embed")
    assert manifest.format == "onnx"
    assert store.path("tiny-onnx").name == "tiny.onnx"

    no_suffix = tmp_path / "src" / "weights.bin"
    no_suffix.write_bytes(onnx_file.read_bytes())
    manifest = store.import_file(no_suffix, "by-content", task="embed")
    assert manifest.format == "onnx"
    assert manifest.file == "weights.onnx"


def test_format_from_content_for_tflite_without_suffix(store: ModelStore, tmp_path: Path) -> None:
    blob = make_tflite(tmp_path / "model.bin")
    assert detect_format(blob) == "tflite"
    assert store.import_file(blob, "blob", task="classify").file == "model.tflite"


def test_onnx_magic_check_without_onnx_package(
    store: ModelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    onnx_file = make_onnx(tmp_path / "src" / "tiny.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    assert store.import_file(onnx_file, "magic", task="embed").format == "onnx"
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00\x01not a protobuf at all")
    with pytest.raises(InputError, match="not an ONNX model"):
        store.import_file(garbage, "garbage", task="embed")


@pytest.mark.parametrize(
    ("file_name", "content", "declared", "message"),
    [
        ("fake.tflite", b"\x00" * 64, None, "not a TFLite model"),
        ("fake.onnx", b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64, None, "is a TFLite model, not ONNX"),
        ("fake.onnx", b"definitely not protobuf", None, "ONNX"),
        ("fake.bin", b"\xff" * 64, None, "not a TFLite or ONNX model"),
        ("fake.bin", b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64, "onnx", "is a TFLite model, not ONNX"),
        ("fake.onnx", b"\x00" * 64, "tflite", "not a TFLite model"),
    ],
)
def test_wrong_type_is_an_input_error(  # noqa: PLR0917 - pytest passes parametrised arguments by name
    store: ModelStore, tmp_path: Path, file_name: str, content: bytes, declared: str | None, message: str
) -> None:
    path = tmp_path / file_name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        store.import_file(path, "wrong", task="detect", format=declared)  # type: ignore[arg-type]
    assert not (store.root / "wrong").exists()


def test_missing_source_file_and_bad_names(store: ModelStore, tmp_path: Path, tflite: Path) -> None:
    with pytest.raises(NotFoundError):
        store.import_file(tmp_path / "nope.tflite", "nope", task="detect")
    for bad in ("", "Upper", "../escape", "a/b", ".hidden", "x" * 65):
        with pytest.raises(InputError, match="invalid model name"):
            store.import_file(tflite, bad, task="detect")
    with pytest.raises(InputError, match="unknown task"):
        store.import_file(tflite, "ok", task="juggle")  # type: ignore[arg-type]


def test_overwrite_is_refused_unless_asked(store: ModelStore, tmp_path: Path, tflite: Path) -> None:
    first = store.import_file(tflite, "m", task="detect")
    other = make_tflite(tmp_path / "other.tflite", b"different weights")
    with pytest.raises(InputError, match="already exists"):
        store.import_file(other, "m", task="detect")
    assert store.get("m").sha256 == first.sha256
    second = store.import_file(other, "m", task="detect", overwrite=True)
    assert second.sha256 == file_sha256(other) != first.sha256
    assert sorted(p.name for p in (store.root / "m").iterdir()) == [MANIFEST_NAME, "other.tflite"]
    assert [p.name for p in store.root.iterdir()] == ["m"]


def test_get_missing_lists_installed_and_hints(store: ModelStore, tflite: Path) -> None:
    with pytest.raises(NotFoundError, match=r"installed: none") as info:
        store.get("absent")
    assert "sightings models install" in str(info.value)
    store.import_file(tflite, "present", task="detect")
    with pytest.raises(NotFoundError, match=r"installed: present"):
        store.path("absent")
    with pytest.raises(NotFoundError):
        store.verify("absent")
    with pytest.raises(NotFoundError):
        store.remove("absent")


def test_verify_reports_corruption_and_require_verified_raises(store: ModelStore, tflite: Path) -> None:
    store.import_file(tflite, "m", task="detect")
    path = store.path("m")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    (result,) = store.verify("m")
    assert not result.ok
    assert result.reason == "sha256 mismatch"
    assert result.expected_sha256 != result.actual_sha256
    with pytest.raises(IntegrityError, match="failed verification: sha256 mismatch"):
        store.require_verified("m")

    path.write_bytes(bytes(data[:-10]))
    assert store.verify("m")[0].reason == "size mismatch"
    path.unlink()
    assert store.verify("m")[0].reason == "file missing"
    with pytest.raises(IntegrityError):
        store.require_verified("m")


def test_require_verified_hashes_once_until_the_file_changes(
    store: ModelStore, tflite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sightings.models.store as store_module

    store.import_file(tflite, "m", task="detect")
    calls: list[Path] = []
    real = store_module.file_sha256

    def counting(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(store_module, "file_sha256", counting)
    store.require_verified("m")
    store.require_verified("m")
    assert len(calls) == 1
    store.path("m").write_bytes(b"\x1c\x00\x00\x00TFL3 tampered with")
    with pytest.raises(IntegrityError):
        store.require_verified("m")


def test_invalid_manifest_is_skipped_by_list_and_reported_by_verify(
    store: ModelStore, tflite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store.import_file(tflite, "good", task="detect")
    store.import_file(tflite, "bad", task="detect")
    manifest_path = store.root / "bad" / MANIFEST_NAME
    data = json.loads(manifest_path.read_text())
    data["surprise"] = 1  # extra="forbid"
    manifest_path.write_text(json.dumps(data))
    (store.root / "stray").mkdir()  # a folder with no manifest
    with caplog.at_level(logging.WARNING):
        assert [m.name for m in store.list()] == ["good"]
    assert "invalid manifest" in caplog.text
    results = {r.name: r for r in store.verify()}
    assert results["good"].ok
    assert not results["bad"].ok
    assert "invalid manifest" in results["bad"].reason
    assert "no model.json" in results["stray"].reason
    with pytest.raises(IntegrityError, match="invalid manifest"):
        store.get("bad")


def test_manifest_model_forbids_extra_keys_and_naive_times() -> None:
    base = {
        "name": "m",
        "file": "m.tflite",
        "sha256": "0" * 64,
        "size_bytes": 1,
        "task": "detect",
        "format": "tflite",
        "source": "file:/x",
        "installed_at": "2024-01-01T00:00:00Z",
    }
    assert ModelManifest.model_validate(base).installed_at.tzinfo is not None
    for bad in ({"extra": 1}, {"installed_at": "2024-01-01T00:00:00"}, {"file": "../x"}, {"sha256": "XYZ"}):
        with pytest.raises(ValueError):
            ModelManifest.model_validate({**base, **bad})


def test_labels_are_kept_and_verified(store: ModelStore, tmp_path: Path, tflite: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("background\nperson\ncat\n", encoding="utf-8")
    manifest = store.import_file(tflite, "with-labels", task="detect", labels=labels)
    assert manifest.labels is not None
    assert manifest.labels.count == 3
    assert store.labels("with-labels") == ["background", "person", "cat"]
    labels_path = store.labels_path("with-labels")
    assert labels_path is not None
    labels_path.write_text("changed\n", encoding="utf-8")
    assert store.verify("with-labels")[0].reason == "size mismatch"


def test_failed_write_leaves_nothing_behind(store: ModelStore, tflite: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: ModelManifest) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ModelManifest, "to_json", boom)
    with pytest.raises(RuntimeError):
        store.import_file(tflite, "m", task="detect")
    assert list(store.root.iterdir()) == []


def test_write_model_checks_bytes_against_the_manifest(store: ModelStore, tflite: Path) -> None:
    manifest = store.import_file(tflite, "m", task="detect")
    store.remove("m")
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        store.write_model(manifest, [(manifest.file, b"\x1c\x00\x00\x00TFL3" + b"x" * (manifest.size_bytes - 8))])
    assert list(store.root.iterdir()) == []


def test_remove(store: ModelStore, tflite: Path) -> None:
    store.import_file(tflite, "m", task="detect")
    store.remove("m")
    assert "m" not in store
    assert list(store.root.iterdir()) == []
    assert store.list() == []


def test_catalog_anchor_options_match_model_outputs() -> None:
    for entry in CATALOG.values():
        assert entry.licence in {"Apache-2.0", "MIT", "BSD-3-Clause"}  # permissive weights only
        assert len(entry.model.sha256) == 64
        if entry.decoding is not None:
            assert entry.decoding.anchors.anchor_count() == entry.decoding.anchors.num_anchors, entry.name


# -- CLI ------------------------------------------------------------------------------------------------------
def test_cli_import_list_show_verify_remove(tmp_path: Path, tflite: Path) -> None:
    from sightings.cli.models import app

    runner = CliRunner()
    models = tmp_path / "cli-models"
    common = ["--models-dir", str(models)]
    res = runner.invoke(app, ["import", str(tflite), "--name", "t", "--task", "detect", "--width", "64", *common])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["list", "--json", *common])
    assert res.exit_code == 0, res.output
    listed = json.loads(res.stdout)
    assert [m["name"] for m in listed] == ["t"]
    assert listed[0]["input"]["width"] == 64
    res = runner.invoke(app, ["list", "--json", "--available", *common])
    assert {m["name"] for m in json.loads(res.stdout) if not m["installed"]} == set(CATALOG)
    res = runner.invoke(app, ["show", "t", *common])
    assert json.loads(res.stdout)["path"].endswith("tiny.tflite")
    res = runner.invoke(app, ["verify", "--json", *common])
    assert res.exit_code == 0
    assert json.loads(res.stdout)[0]["ok"] is True

    ModelStore(models).path("t").write_bytes(b"\x1c\x00\x00\x00TFL3 corrupt")
    res = runner.invoke(app, ["verify", *common])
    assert res.exit_code == IntegrityError.exit_code
    res = runner.invoke(app, ["verify", "t", "--json", *common])
    assert res.exit_code == IntegrityError.exit_code
    assert json.loads(res.stdout)[0]["reason"] == "size mismatch"

    res = runner.invoke(app, ["import", str(tflite), "--name", "t", "--task", "detect", *common])
    assert res.exit_code == InputError.exit_code
    assert "already exists" in res.output
    res = runner.invoke(app, ["import", str(tflite), "--name", "u", "--task", "nonsense", *common])
    assert res.exit_code == InputError.exit_code
    for bad, message in (  # refused at import, not found out when the model is used
        (["--mean", "1,2", "--std", "1,1", "--normalisation", "mean/std"], "--mean: mean: 2 values for 3 channels"),
        (["--mean", "1,2,3", "--std", "0,1,1", "--normalisation", "mean/std"], "std: every value must be above 0"),
        (["--mean", "1,2,3", "--std", "1,1,1", "--normalisation", "[0,1]"], "not '[0,1]'"),
        (["--mean", "1,2,3"], "mean and std go together"),
    ):
        res = runner.invoke(app, ["import", str(tflite), "--name", "m", "--task", "embed", *bad, *common])
        assert res.exit_code == InputError.exit_code and message in res.output, res.output
    ok = ["--mean", "1,2,3", "--std", "4,5,6", "--normalisation", "mean/std"]
    assert runner.invoke(app, ["import", str(tflite), "--name", "m", "--task", "embed", *ok, *common]).exit_code == 0
    res = runner.invoke(app, ["remove", "t", *common])
    assert res.exit_code == 0
    res = runner.invoke(app, ["show", "t", *common])
    assert res.exit_code == NotFoundError.exit_code


def test_cli_uses_sightings_models_dir(tmp_path: Path, tflite: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sightings.cli.models import app
    from sightings.core.config import get_settings

    monkeypatch.setenv("SIGHTINGS_MODELS_DIR", str(tmp_path / "env-models"))
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["import", str(tflite), "--name", "e", "--task", "other"])
        assert res.exit_code == 0, res.output
        assert (tmp_path / "env-models" / "e" / MANIFEST_NAME).is_file()
    finally:
        get_settings.cache_clear()


def test_cli_import_into_a_models_dir_that_cannot_be_one(tmp_path: Path, tflite: Path) -> None:
    """`--models-dir` naming a file (or a path under one): one line naming it, exit 2, not a traceback."""
    from sightings.cli.models import app

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for models in (blocker, blocker / "models"):
        res = CliRunner().invoke(
            app, ["import", str(tflite), "--name", "t", "--task", "detect", "--models-dir", str(models)]
        )
        assert res.exit_code == InputError.exit_code, res.output
        assert f"{models}: cannot write here" in res.output
    assert blocker.read_text() == "x"
