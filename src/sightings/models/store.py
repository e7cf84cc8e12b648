"""The local models directory: one folder per model, holding its file(s) and a ``model.json`` manifest.

    <models_dir>/
      ssd-mobilenetv2-oidv4/
        object_detection_ssd_mobilenetv2_oidv4_fp16.tflite
        object_detection_oidv4_labelmap.txt
        model.json                      ← ModelManifest (name, file, sha256, size, task, input, source …)

A model folder is written into a temporary sibling and renamed into place, so it appears whole or not at
all. :class:`ModelStore` lists, imports, verifies (sha256 + size) and removes models; backends load a model
through :meth:`ModelStore.require_verified`, which raises :class:`IntegrityError` on a corrupt file.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sightings.core.atomic import atomic_dir, make_output_dir
from sightings.core.errors import InputError, IntegrityError, NotFoundError

__all__ = [
    "MANIFEST_NAME",
    "MODEL_FORMATS",
    "MODEL_TASKS",
    "ModelFormat",
    "ModelInput",
    "ModelLabels",
    "ModelManifest",
    "ModelStore",
    "ModelTask",
    "SsdAnchors",
    "SsdBoxDecoding",
    "SsdDecoding",
    "VerifyResult",
    "detect_format",
    "file_sha256",
    "labels_ref",
    "manifest_dict",
    "validate_model_name",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "model.json"
TFLITE_IDENTIFIER = b"TFL3"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SHA256_RE = r"^[0-9a-f]{64}$"
_CHUNK = 1 << 20

ModelTask = Literal["detect", "classify", "embed", "segment", "face-detect", "pose", "landmarks", "ocr", "other"]
ModelFormat = Literal["tflite", "onnx"]
MODEL_TASKS: tuple[str, ...] = get_args(ModelTask)
MODEL_FORMATS: tuple[str, ...] = get_args(ModelFormat)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelInput(_Strict):
    """What the model expects as input (one image tensor)."""

    width: int | None = Field(default=None, gt=0, description="input width, pixels (None: any)")
    height: int | None = Field(default=None, gt=0, description="input height, pixels (None: any)")
    channels: int = Field(default=3, gt=0, description="colour channels")
    colour_order: Literal["RGB", "BGR", "GRAY"] = Field(default="RGB", description="channel order")
    layout: Literal["NHWC", "NCHW"] = Field(default="NHWC", description="tensor layout")
    dtype: Literal["float32", "float16", "uint8", "int8"] = Field(default="float32", description="tensor element type")
    normalisation: str | None = Field(
        default=None, description='value range or recipe, e.g. "[-1,1]", "[0,1]", "mean/std" (then see mean and std)'
    )
    mean: tuple[float, ...] | None = Field(default=None, description="per-channel mean subtracted (0-255 scale)")
    std: tuple[float, ...] | None = Field(default=None, description="per-channel std divided by (0-255 scale)")
    resize: Literal["stretch", "letterbox", "crop", "any"] | None = Field(
        default=None, description="how an image of another shape is brought to width × height"
    )

    @model_validator(mode="after")
    def _mean_std(self) -> ModelInput:
        """mean and std come together, one value per channel, std above 0, and not with another normalisation: a
        model imported otherwise would load and then be fed wrongly scaled pixels."""
        if self.mean is None and self.std is None:
            return self
        if self.mean is None or self.std is None:
            raise ValueError("mean and std go together: give both")
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) != self.channels:
                raise ValueError(f"{name}: {len(values)} values for {self.channels} channels")
        if min(self.std) <= 0:
            raise ValueError("std: every value must be above 0")
        if self.normalisation not in (None, "mean/std"):  # mean/std are what a loader then applies, not the range
            raise ValueError(f'mean and std go with normalisation "mean/std" (or none), not {self.normalisation!r}')
        return self


class ModelLabels(_Strict):
    """A labels file stored beside the model (one label per line, line i = class index i)."""

    file: str = Field(description="file name inside the model folder")
    sha256: str = Field(pattern=_SHA256_RE, description="sha256 of the file, lower-case hex")
    size_bytes: int = Field(ge=0, description="size of the file, bytes")
    count: int = Field(ge=0, description="number of labels (lines)")


class SsdAnchors(_Strict):
    """SSD anchor generation, in MediaPipe ``SsdAnchorsCalculatorOptions`` terms."""

    num_layers: int = Field(gt=0, description="number of feature-map layers")
    min_scale: float = Field(gt=0, description="anchor scale of the lowest layer")
    max_scale: float = Field(gt=0, description="anchor scale of the highest layer")
    input_size_width: int = Field(gt=0, description="model input width, pixels")
    input_size_height: int = Field(gt=0, description="model input height, pixels")
    anchor_offset_x: float = Field(default=0.5, description="anchor centre offset within a cell, x")
    anchor_offset_y: float = Field(default=0.5, description="anchor centre offset within a cell, y")
    strides: tuple[int, ...] = Field(description="stride of each layer (feature map = ceil(input / stride))")
    aspect_ratios: tuple[float, ...] = Field(description="aspect ratios of the anchors of each location")
    reduce_boxes_in_lowest_layer: bool = Field(default=False, description="lowest layer uses 3 fixed boxes only")
    interpolated_scale_aspect_ratio: float = Field(
        default=1.0, description="extra anchor with interpolated scale (0: none)"
    )
    fixed_anchor_size: bool = Field(
        default=False, description="anchor width/height fixed to 1 (box coder scales absolute)"
    )
    num_anchors: int = Field(gt=0, description="anchor count these options give (= model output rows)")

    def anchor_count(self) -> int:
        """Number of anchors these options generate (MediaPipe's algorithm: same-stride layers share a grid)."""
        total = 0
        layer = 0
        while layer < self.num_layers:
            per_cell = 0
            last = layer
            while last < self.num_layers and self.strides[last] == self.strides[layer]:
                if last == 0 and self.reduce_boxes_in_lowest_layer:
                    per_cell += 3
                else:
                    per_cell += len(self.aspect_ratios) + (1 if self.interpolated_scale_aspect_ratio > 0 else 0)
                last += 1
            stride = self.strides[layer]
            rows = -(-self.input_size_height // stride)
            cols = -(-self.input_size_width // stride)
            total += rows * cols * per_cell
            layer = last
        return total


class SsdBoxDecoding(_Strict):
    """Turning raw box regressions + scores into boxes (MediaPipe ``TensorsToDetectionsCalculatorOptions``)."""

    num_classes: int = Field(gt=0, description="score columns per anchor")
    num_coords: int = Field(gt=0, description="regression values per anchor (4 box + keypoints)")
    coord_order: Literal["yxhw", "xywh"] = Field(description="order of the 4 box values in each regression row")
    x_scale: float = Field(description="box coder scale for the x centre")
    y_scale: float = Field(description="box coder scale for the y centre")
    w_scale: float = Field(description="box coder scale for the width")
    h_scale: float = Field(description="box coder scale for the height")
    apply_exponential_on_box_size: bool = Field(description="w, h = exp(raw / scale) × anchor size")
    num_keypoints: int = Field(default=0, ge=0, description="keypoints after the box in each regression row")
    keypoint_coord_offset: int = Field(default=4, ge=0, description="index of the first keypoint value")
    num_values_per_keypoint: int = Field(default=2, ge=0, description="values per keypoint (x, y)")
    sigmoid_score: bool = Field(default=True, description="apply a sigmoid to raw scores")
    score_clipping_thresh: float | None = Field(default=None, description="clip raw scores to ±this before the sigmoid")
    min_score_thresh: float = Field(default=0.5, description="reference score threshold of the original pipeline")
    background_class: int | None = Field(default=None, description="score column that means background (skip it)")


class SsdDecoding(_Strict):
    """How to decode an SSD-style detector's raw outputs: anchors, box coder, then non-maximum suppression."""

    kind: Literal["ssd"] = Field(default="ssd", description="decoder family")
    anchors: SsdAnchors = Field(description="anchor generation")
    boxes: SsdBoxDecoding = Field(description="box and score decoding")


class ModelManifest(_Strict):
    """``model.json``: what a model folder holds, where it came from, and how to feed the model."""

    name: str = Field(description="model name = folder name")
    file: str = Field(description="model file name inside the folder")
    sha256: str = Field(pattern=_SHA256_RE, description="sha256 of the model file, lower-case hex")
    size_bytes: int = Field(gt=0, description="size of the model file, bytes")
    task: ModelTask = Field(description="what the model does")
    format: ModelFormat = Field(description="file format / runtime")
    input: ModelInput = Field(default_factory=ModelInput, description="expected input tensor")
    output: str | None = Field(default=None, description='free-form description, e.g. "raw SSD boxes + class scores"')
    labels: ModelLabels | None = Field(default=None, description="labels file beside the model, if any")
    decoding: SsdDecoding | None = Field(
        default=None, description="output decoding parameters, if the model needs them"
    )
    licence: str | None = Field(default=None, description="licence of the weights (SPDX id where possible)")
    source: str = Field(description='where the file came from, e.g. "pypi:mediapipe==0.10.21#<member>"')
    derived_from: str | None = Field(
        default=None,
        description="for a model converted at install: the sha256 of each published file it was made from and the "
        'converter\'s version ("file=sha256,...,converter=tfjs_graph/N")',
    )
    notes: str | None = Field(default=None, description="anything else a user of the model should know")
    installed_at: datetime = Field(description="when it was installed or imported (UTC)")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(f"invalid model name {value!r} (lower-case letters, digits, '.', '_', '-')")
        return value

    @field_validator("file")
    @classmethod
    def _plain_file_name(cls, value: str) -> str:
        if value in {"", ".", "..", MANIFEST_NAME} or "/" in value or "\\" in value:
            raise ValueError(f"invalid model file name {value!r}")
        return value

    @field_validator("installed_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("installed_at must be timezone-aware (UTC)")
        return value.astimezone(UTC)

    def to_json(self) -> str:
        """The manifest as indented JSON text (what ``model.json`` holds)."""
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of checking one installed model against its manifest."""

    name: str
    ok: bool
    reason: str
    path: Path
    expected_sha256: str | None = None
    actual_sha256: str | None = None
    expected_size_bytes: int | None = None
    actual_size_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``--json``)."""
        out = asdict(self)
        out["path"] = str(self.path)
        return out


def validate_model_name(name: str) -> str:
    """Return ``name`` if it is a valid model (folder) name, else raise :class:`InputError`."""
    if not _NAME_RE.match(name):
        raise InputError(
            "invalid model name (1-64 characters: lower-case letters, digits, '.', '_', '-'; starting alphanumeric)",
            where=name,
        )
    return name


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Streamed sha256 of a file, lower-case hex."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _looks_like_onnx_bytes(head: bytes) -> bool:
    # An ONNX file is a protobuf ModelProto; writers emit field 1 (ir_version, varint) first: 0x08 then 1..~20.
    return len(head) >= 2 and head[0] == 0x08 and 1 <= head[1] <= 32 and head[4:8] != TFLITE_IDENTIFIER


def _check_onnx(path: Path) -> None:
    """Raise :class:`InputError` unless ``path`` holds an ONNX model (parsed with ``onnx`` when installed)."""
    try:
        import onnx
    except ImportError:
        with path.open("rb") as fh:
            head = fh.read(16)
        if not _looks_like_onnx_bytes(head):
            raise InputError("not an ONNX model (no ModelProto header)", where=path) from None
        return
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others; any failure means "not a readable ONNX file"
        raise InputError(f"not a readable ONNX model: {exc}", where=path) from exc
    if model.ir_version <= 0 or not model.graph.node:
        raise InputError("not an ONNX model (no IR version or an empty graph)", where=path)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        raise InputError(
            "ONNX model keeps its weights in external data files, which are not supported",
            where=path,
            hint="save it as one file: onnx.save(onnx.load(path), out, save_as_external_data=False)",
        )


def detect_format(path: str | os.PathLike[str], declared: ModelFormat | None = None) -> ModelFormat:
    """The format of a model file, checked by content; raise :class:`InputError` if it is not a model we take.

    ``declared`` (or the suffix, ``.tflite`` / ``.onnx``) says what the file should be; its content must agree:
    TFLite carries the identifier ``TFL3`` at bytes 4..8, ONNX parses as a ``ModelProto``.
    """
    src = Path(path)
    if not src.is_file():
        raise NotFoundError("model file not found", where=src)
    with src.open("rb") as fh:
        head = fh.read(16)
    is_tflite = head[4:8] == TFLITE_IDENTIFIER
    expected: ModelFormat | None = declared
    if expected is None:
        suffix = src.suffix.lower()
        expected = "tflite" if suffix == ".tflite" else "onnx" if suffix == ".onnx" else None
    if expected is None:
        if is_tflite:
            return "tflite"
        if _looks_like_onnx_bytes(head):
            _check_onnx(src)
            return "onnx"
        raise InputError("not a TFLite or ONNX model (unknown content)", where=src, hint="give --format if it is one")
    if expected == "tflite":
        if not is_tflite:
            raise InputError("not a TFLite model (no 'TFL3' identifier at bytes 4..8)", where=src)
        return "tflite"
    if is_tflite:
        raise InputError("is a TFLite model, not ONNX", where=src)
    _check_onnx(src)
    return "onnx"


def _count_lines(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    return len(text.splitlines())


def labels_ref(path: Path) -> ModelLabels:
    """A :class:`ModelLabels` describing the labels file at ``path`` (must be UTF-8 text)."""
    try:
        count = _count_lines(path)
    except UnicodeDecodeError as exc:
        raise InputError("labels file is not UTF-8 text", where=path) from exc
    return ModelLabels(file=path.name, sha256=file_sha256(path), size_bytes=path.stat().st_size, count=count)


class ModelStore:
    """The models directory: list, import, verify and remove models; resolve a model's file for a backend."""

    def __init__(self, models_dir: str | os.PathLike[str]) -> None:
        self.root = Path(models_dir).expanduser()
        self._verified: dict[str, tuple[int, int, str]] = {}

    def __repr__(self) -> str:
        return f"ModelStore({str(self.root)!r})"

    # -- reading -------------------------------------------------------------------------------------------
    def _model_dirs(self) -> builtins.list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _read_manifest(self, folder: Path) -> ModelManifest:
        path = folder / MANIFEST_NAME
        if not path.is_file():
            raise IntegrityError("model folder has no model.json", where=folder)
        try:
            manifest = ModelManifest.model_validate_json(path.read_bytes())
        except (ValidationError, ValueError) as exc:
            first = exc.errors()[0] if isinstance(exc, ValidationError) else None
            detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}" if first else str(exc)
            raise IntegrityError(f"invalid manifest ({detail})", where=path) from None
        if manifest.name != folder.name:
            raise IntegrityError(f"manifest names {manifest.name!r}, folder is {folder.name!r}", where=path)
        return manifest

    def names(self) -> builtins.list[str]:
        """Names of the installed models (folders with a readable manifest), sorted."""
        return [m.name for m in self.list()]

    def list(self) -> list[ModelManifest]:
        """Manifests of the installed models, sorted by name; unreadable folders are logged and skipped."""
        out = []
        for folder in self._model_dirs():
            try:
                out.append(self._read_manifest(folder))
            except IntegrityError as err:
                log.warning("skipping model folder: %s", err)
        return out

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (self.root / name / MANIFEST_NAME).is_file()

    def get(self, name: str) -> ModelManifest:
        """The manifest of ``name``; :class:`NotFoundError` (listing installed models) if absent."""
        folder = self.root / name
        if not _NAME_RE.match(name) or not (folder / MANIFEST_NAME).is_file():
            installed = ", ".join(self.names()) or "none"
            raise NotFoundError(
                f"model {name!r} is not installed (installed: {installed})",
                where=self.root,
                hint="run `sightings models install` for the offline defaults or `sightings models import FILE`",
            )
        return self._read_manifest(folder)

    def folder(self, name: str) -> Path:
        """The folder of an installed model."""
        self.get(name)
        return self.root / name

    def path(self, name: str) -> Path:
        """Path of the model file of ``name`` (not verified; see :meth:`require_verified`)."""
        return self.root / name / self.get(name).file

    def labels_path(self, name: str) -> Path | None:
        """Path of the labels file of ``name``, or ``None`` if it has none."""
        manifest = self.get(name)
        return None if manifest.labels is None else self.root / name / manifest.labels.file

    def labels(self, name: str) -> builtins.list[str]:
        """The labels of ``name`` (line i = class i); empty if it has no labels file."""
        path = self.labels_path(name)
        return [] if path is None else path.read_text(encoding="utf-8").splitlines()

    # -- verifying -----------------------------------------------------------------------------------------
    def _check_files(self, folder: Path, manifest: ModelManifest, name: str) -> VerifyResult:
        checks: list[tuple[str, str, int]] = [(manifest.file, manifest.sha256, manifest.size_bytes)]
        if manifest.labels is not None:
            checks.append((manifest.labels.file, manifest.labels.sha256, manifest.labels.size_bytes))
        for file, sha, size in checks:
            path = folder / file
            if not path.is_file():
                return VerifyResult(name, False, "file missing", path, sha, None, size, None)
            actual_size = path.stat().st_size
            if actual_size != size:
                return VerifyResult(name, False, "size mismatch", path, sha, None, size, actual_size)
            actual = file_sha256(path)
            if actual != sha:
                return VerifyResult(name, False, "sha256 mismatch", path, sha, actual, size, actual_size)
        model_path = folder / manifest.file
        return VerifyResult(
            name, True, "ok", model_path, manifest.sha256, manifest.sha256, manifest.size_bytes, manifest.size_bytes
        )

    def _verify_folder(self, folder: Path) -> VerifyResult:
        name = folder.name
        try:
            manifest = self._read_manifest(folder)
        except IntegrityError as err:
            return VerifyResult(name=name, ok=False, reason=err.reason, path=folder / MANIFEST_NAME)
        result = self._check_files(folder, manifest, name)
        if result.ok:
            stat = result.path.stat()
            self._verified[name] = (stat.st_size, stat.st_mtime_ns, manifest.sha256)
        return result

    def verify(self, name: str | None = None) -> builtins.list[VerifyResult]:
        """Recompute sha256 and size of one model (``name``) or of every model folder; corrupt ones are reported."""
        if name is not None:
            folder = self.root / name
            if not _NAME_RE.match(name) or not folder.is_dir():
                self.get(name)  # raises NotFoundError with the installed names
            return [self._verify_folder(folder)]
        return [self._verify_folder(folder) for folder in self._model_dirs()]

    def require_verified(self, name: str) -> ModelManifest:
        """The manifest of ``name`` after checking its files; :class:`IntegrityError` if any check fails.

        The sha256 is recomputed once per process per (size, mtime) of the file, so loading is cheap afterwards.
        """
        manifest = self.get(name)
        path = self.root / name / manifest.file
        cached = self._verified.get(name)
        if cached is not None and path.is_file():
            stat = path.stat()
            if cached == (stat.st_size, stat.st_mtime_ns, manifest.sha256):
                return manifest
        result = self._verify_folder(self.root / name)
        if not result.ok:
            raise IntegrityError(
                f"model {name!r} failed verification: {result.reason}",
                where=result.path,
                hint=f"reinstall it (`sightings models install {name}` or `sightings models import ... --overwrite`)",
            )
        return manifest

    # -- writing -------------------------------------------------------------------------------------------
    def write_model(
        self,
        manifest: ModelManifest,
        files: Iterable[tuple[str, Path | bytes]],
        *,
        overwrite: bool = False,
    ) -> ModelManifest:
        """Place a model folder atomically: ``files`` are (name in folder, source path or bytes) pairs.

        The files are checked against the manifest (model sha256/size, labels sha256/size) before the folder
        is renamed into place; a mismatch raises :class:`IntegrityError` and leaves nothing behind.
        """
        target = self.root / manifest.name
        if target.exists() and not overwrite:
            raise InputError(
                f"model {manifest.name!r} already exists", where=target, hint="use --overwrite to replace it"
            )
        make_output_dir(self.root)  # a models folder that cannot be one is one line naming it
        with atomic_dir(target, overwrite=True) as tmp:
            tmp.chmod(0o755)  # mkdtemp makes it 0700; a models folder is readable like any installed data
            for file_name, src in files:
                dest = tmp / file_name
                if isinstance(src, bytes):
                    dest.write_bytes(src)
                else:
                    shutil.copyfile(src, dest)
            result = self._check_files(tmp, manifest, manifest.name)
            if not result.ok:
                raise IntegrityError(
                    f"{result.reason} while installing {manifest.name!r} "
                    f"(expected {result.expected_sha256}, got {result.actual_sha256})",
                    where=result.path.name,
                )
            (tmp / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
            for path in tmp.iterdir():
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
        self._verified.pop(manifest.name, None)
        return manifest

    def import_file(
        self,
        path: str | os.PathLike[str],
        name: str,
        *,
        task: ModelTask,
        format: ModelFormat | None = None,
        input: ModelInput | None = None,
        output: str | None = None,
        labels: str | os.PathLike[str] | None = None,
        licence: str | None = None,
        source: str | None = None,
        notes: str | None = None,
        decoding: SsdDecoding | None = None,
        overwrite: bool = False,
    ) -> ModelManifest:
        """Copy a TFLite/ONNX file (and optionally its labels file) into the store as model ``name``.

        The format comes from ``format``, else the suffix, else the content, and the content must agree
        (wrong type → :class:`InputError`). An existing model of that name is kept unless ``overwrite``.
        """
        validate_model_name(name)
        src = Path(path).expanduser()
        if not src.is_file():
            raise NotFoundError("model file not found", where=src)
        if task not in MODEL_TASKS:
            raise InputError(f"unknown task {task!r} (known: {', '.join(MODEL_TASKS)})", where=str(task))
        fmt = detect_format(src, format)
        target = self.root / name
        if target.exists() and not overwrite:
            raise InputError(f"model {name!r} already exists", where=target, hint="use --overwrite to replace it")
        file_name = src.name if src.suffix.lower() == f".{fmt}" else f"{src.stem or 'model'}.{fmt}"
        if file_name == MANIFEST_NAME:
            file_name = f"model.{fmt}"
        files: builtins.list[tuple[str, Path | bytes]] = [(file_name, src)]
        labels_meta: ModelLabels | None = None
        if labels is not None:
            labels_src = Path(labels).expanduser()
            if not labels_src.is_file():
                raise NotFoundError("labels file not found", where=labels_src)
            labels_meta = labels_ref(labels_src)
            if labels_meta.file in {file_name, MANIFEST_NAME}:
                labels_meta = labels_meta.model_copy(update={"file": "labels.txt"})
            files.append((labels_meta.file, labels_src))
        manifest = ModelManifest(
            name=name,
            file=file_name,
            sha256=file_sha256(src),
            size_bytes=src.stat().st_size,
            task=task,
            format=fmt,
            input=input or ModelInput(),
            output=output,
            labels=labels_meta,
            decoding=decoding,
            licence=licence,
            source=source or f"file:{src.resolve()}",
            notes=notes,
            installed_at=datetime.now(UTC),
        )
        return self.write_model(manifest, files, overwrite=overwrite)

    def remove(self, name: str) -> None:
        """Delete model ``name`` (its whole folder); :class:`NotFoundError` if it is not installed."""
        folder = self.root / name
        if not _NAME_RE.match(name) or not folder.is_dir():
            self.get(name)  # raises NotFoundError listing the installed models
        trash = folder.with_name(f".{name}.removing")
        shutil.rmtree(trash, ignore_errors=True)
        folder.replace(trash)
        shutil.rmtree(trash, ignore_errors=True)
        self._verified.pop(name, None)


def manifest_dict(manifest: ModelManifest) -> dict[str, Any]:
    """A manifest as a JSON-ready dict (for ``--json`` output)."""
    data: dict[str, Any] = json.loads(manifest.to_json())
    return data
