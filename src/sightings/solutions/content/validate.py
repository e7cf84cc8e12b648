"""Validators of a stored content run.

    validate_run(run_dir) -> ValidationReport(issues=[Issue(level, check, module, key, message)])

- **contract**: manifest.json parses and has its fields; every module it lists is known, with the same version and
  schema version as the code; each ``ok`` module's NPZ exists and holds every required key of the schema, with the
  declared dtype and a shape matching the pattern (named dimensions agree across keys); no undeclared keys.
- **quality**: no NaN or inf; values inside the declared range; series declared ``non_empty`` are not empty;
  a ``failed`` module is an error, a ``skipped`` one a note.

``errors`` make the run invalid (``sightings content validate`` exits 1); ``warnings`` and ``notes`` do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sightings.core.errors import ConfigError, SightingsError
from sightings.runner.run_folders import load_manifest, load_module
from sightings.solutions.content.artifacts import MANIFEST_VERSION
from sightings.solutions.content.spec import FeatureModule, OutputField, get_module

__all__ = ["Issue", "ValidationReport", "validate_run"]

Level = Literal["error", "warning", "note"]
REQUIRED = ("manifest_version", "platform_id", "video_id", "run_id", "config_hash", "modules", "timings", "source")


@dataclass(frozen=True, slots=True)
class Issue:
    level: Level
    check: Literal["contract", "quality"]
    module: str | None
    key: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "check": self.check,
            "module": self.module,
            "key": self.key,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = ".".join(x for x in (self.module, self.key) if x) or "run"
        return f"{self.level:<7} {self.check:<8} {where}: {self.message}"


@dataclass(slots=True)
class ValidationReport:
    run_dir: Path
    issues: list[Issue] = field(default_factory=list)
    modules_checked: int = 0
    arrays_checked: int = 0

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(
        self, level: Level, check: Literal["contract", "quality"], module: str | None, key: str | None, message: str
    ) -> None:
        self.issues.append(Issue(level, check, module, key, message))

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "valid": self.ok,
            "errors": len(self.errors),
            "warnings": sum(i.level == "warning" for i in self.issues),
            "modules_checked": self.modules_checked,
            "arrays_checked": self.arrays_checked,
            "issues": [i.to_dict() for i in self.issues],
        }


def _check_shape(spec: OutputField, shape: tuple[int, ...], dims: dict[str, int]) -> str | None:
    if len(shape) != len(spec.shape):
        return f"shape {shape} does not match {spec.shape}"
    for want, got in zip(spec.shape, shape, strict=True):
        if isinstance(want, int):
            if want != got:
                return f"shape {shape} does not match {spec.shape}"
        elif want != "*":
            seen = dims.setdefault(want, got)
            if seen != got:
                return f"dimension {want!r} is {got} here but {seen} in another key"
    return None


def _check_array(
    report: ValidationReport, module: FeatureModule, key: str, arr: np.ndarray, dims: dict[str, int]
) -> None:
    spec = module.schema[key]
    name = module.name
    report.arrays_checked += 1
    if arr.dtype != np.dtype(spec.dtype):
        report.add("error", "contract", name, key, f"dtype {arr.dtype}, schema says {spec.dtype}")
    problem = _check_shape(spec, tuple(arr.shape), dims)
    if problem:
        report.add("error", "contract", name, key, problem)
    if arr.size == 0:
        if spec.non_empty:
            report.add("error", "quality", name, key, "empty series")
        return
    if arr.dtype.kind == "f":
        bad = int((~np.isfinite(arr)).sum())
        if bad:
            report.add("error", "quality", name, key, f"{bad} NaN/inf values")
            arr = arr[np.isfinite(arr)]
            if arr.size == 0:
                return
    if arr.dtype.kind in "fiu":
        lo, hi = float(arr.min()), float(arr.max())
        if spec.lo is not None and lo < spec.lo - 1e-6:
            report.add("error", "quality", name, key, f"value {lo:g} below the range minimum {spec.lo:g}")
        if spec.hi is not None and hi > spec.hi + 1e-6:
            report.add("error", "quality", name, key, f"value {hi:g} above the range maximum {spec.hi:g}")


def _check_module(report: ValidationReport, folder: Path, name: str, entry: dict[str, Any]) -> None:
    try:
        module = get_module(name)
    except ConfigError:
        report.add("error", "contract", name, None, "unknown module")
        return
    status = entry.get("status")
    if entry.get("version") != module.version or entry.get("schema_version") != module.schema_version:
        report.add(
            "error",
            "contract",
            name,
            None,
            f"stored version {entry.get('version')}/schema {entry.get('schema_version')}, code has "
            f"{module.version}/{module.schema_version} (re-run the video)",
        )
    if status == "failed":
        report.add("error", "quality", name, None, f"module failed: {entry.get('reason', '?')}")
        return
    if status == "skipped":
        report.add("note", "quality", name, None, f"skipped: {entry.get('reason', '?')}")
        return
    if status != "ok":
        report.add("error", "contract", name, None, f"unknown status {status!r}")
        return
    report.modules_checked += 1
    try:
        arrays = load_module(folder, name)
    except SightingsError as err:
        report.add("error", "contract", name, None, err.reason)
        return
    dims: dict[str, int] = {}
    for key, spec in module.schema.items():
        if key not in arrays:
            if not spec.optional:
                report.add("error", "contract", name, key, "required key missing from the NPZ")
            continue
        _check_array(report, module, key, arrays[key], dims)
    for key in sorted(set(arrays) - set(module.schema)):
        report.add("warning", "contract", name, key, "key not in the schema")


def validate_run(run_dir: str | Path) -> ValidationReport:
    """Check a run folder against the module schemas (see the module docs)."""
    folder = Path(run_dir)
    report = ValidationReport(folder)
    manifest = load_manifest(folder)
    for key in REQUIRED:
        if key not in manifest:
            report.add("error", "contract", None, key, "missing from manifest.json")
    if manifest.get("manifest_version") not in (None, MANIFEST_VERSION):
        report.add("error", "contract", None, "manifest_version", f"unknown version {manifest['manifest_version']!r}")
    modules = manifest.get("modules")
    if not isinstance(modules, dict):
        report.add("error", "contract", None, "modules", "must be an object of module entries")
        return report
    for name, entry in modules.items():
        _check_module(report, folder, name, entry)
    return report
