"""Feature modules: what each one declares (name, version, inputs, output schema) and the registry of them.

    @feature_module("video_pacing", version="1", inputs=("scan", "shots"), schema={...})
    def video_pacing(ctx: ModuleContext) -> dict[str, np.ndarray]: ...

An output schema maps each NPZ key to a :class:`OutputField`: dtype, a shape pattern (ints are exact sizes,
strings are named dimensions that must agree across the module's keys, ``"*"`` is any size) and an optional value
range. The validators (``sightings.solutions.content.validate``) check stored runs against these schemas.
A module that cannot run on its input raises :class:`ModuleSkipped` with a reason (no audio track, no model):
its status is then ``skipped``, never a crash of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import ConfigError

if TYPE_CHECKING:
    from sightings.solutions.content.context import ModuleContext

__all__ = [
    "MODULES",
    "FeatureModule",
    "ModuleOutput",
    "ModuleSkipped",
    "OutputField",
    "RawOutput",
    "feature_module",
    "get_module",
    "module_names",
]

ModuleOutput = dict[str, npt.NDArray[Any]]
RawOutput = dict[str, Any]
"""What a module function returns: arrays or scalars, cast to the schema's dtypes by :meth:`FeatureModule.coerce`."""
INPUTS = ("scan", "shots", "frames", "audio", "models", "corpus", "ocr")


class ModuleSkipped(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a module that has nothing to work on (the reason goes into the manifest)."""


@dataclass(frozen=True, slots=True)
class OutputField:
    """One NPZ key of a module's output."""

    dtype: str
    shape: tuple[int | str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    optional: bool = False
    non_empty: bool = False
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "shape": list(self.shape),
            "range": [self.lo, self.hi],
            "optional": self.optional,
            "non_empty": self.non_empty,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class FeatureModule:
    """A registered feature module."""

    name: str
    version: str
    inputs: tuple[str, ...]
    schema: Mapping[str, OutputField]
    run: Callable[[ModuleContext], RawOutput] = field(repr=False)
    schema_version: str = "1"
    kind: str = "visual"
    description: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "schema_version": self.schema_version,
            "kind": self.kind,
            "inputs": list(self.inputs),
            "description": self.description,
            "schema": {k: f.to_dict() for k, f in self.schema.items()},
        }

    def coerce(self, output: Mapping[str, Any]) -> ModuleOutput:
        """The module's raw output cast to the declared dtypes (unknown keys are a bug: ConfigError)."""
        out: ModuleOutput = {}
        for key, value in output.items():
            spec = self.schema.get(key)
            if spec is None:
                raise ConfigError(f"module output {key!r} is not in its schema", where=f"module {self.name}")
            out[key] = np.asarray(value, dtype=np.dtype(spec.dtype))
        return out


MODULES: dict[str, FeatureModule] = {}


def feature_module(
    name: str,
    *,
    version: str,
    inputs: tuple[str, ...],
    schema: Mapping[str, OutputField],
    schema_version: str = "1",
    kind: str = "visual",
) -> Callable[[Callable[[ModuleContext], RawOutput]], Callable[[ModuleContext], RawOutput]]:
    """Register a function as a feature module (names are unique)."""
    unknown = [i for i in inputs if i not in INPUTS]
    if unknown:
        raise ConfigError(f"unknown inputs {unknown}; known: {', '.join(INPUTS)}", where=f"module {name}")

    def register(fn: Callable[[ModuleContext], RawOutput]) -> Callable[[ModuleContext], RawOutput]:
        if name in MODULES:
            raise ConfigError("feature module registered twice", where=f"module {name}")
        doc = (fn.__doc__ or "").strip().splitlines()
        MODULES[name] = FeatureModule(
            name, version, inputs, dict(schema), fn, schema_version, kind, doc[0] if doc else ""
        )
        return fn

    return register


def _load_builtin() -> None:
    from sightings.solutions.content.modules import audio, semantic, visual  # noqa: F401 - registers the modules


def module_names() -> list[str]:
    """Every registered module, visual ones first, then audio."""
    _load_builtin()
    order = {"visual": 0, "audio": 1}
    return sorted(MODULES, key=lambda n: order.get(MODULES[n].kind, 0))


def get_module(name: str) -> FeatureModule:
    _load_builtin()
    try:
        return MODULES[name]
    except KeyError:
        raise ConfigError(f"unknown module {name!r}; known: {', '.join(MODULES)}", where="--modules") from None
