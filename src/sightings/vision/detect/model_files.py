"""What the detectors share around their models: finding the file, reading class names, per-class thresholds."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sightings.core.errors import ConfigError, InputError, NotFoundError

__all__ = ["class_thresholds", "default_models_dir", "locate_model", "read_labels"]


def default_models_dir() -> Path:
    """``Settings.models_path``: where ``sightings models install`` puts models."""
    from sightings.core.config import get_settings

    return get_settings().models_path


def locate_model(
    model_path: str | os.PathLike[str] | None,
    models_dir: str | os.PathLike[str] | None,
    model_name: str,
    *,
    what: str,
    hint: str,
) -> tuple[Path, Path | None]:
    """The model file and its labels file (``None``: not known): ``model_path`` as given, else model
    ``model_name`` of ``models_dir`` (default :func:`default_models_dir`) after checking its checksums.

    A missing file raises :class:`NotFoundError` with ``hint``, a model that is not installed one with the
    store's install hint; a corrupt one :class:`IntegrityError`.
    """
    if model_path is not None:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise NotFoundError(f"{what} model file not found", where=path, hint=hint)
        return path, None
    from sightings.models.store import ModelStore

    root = Path(models_dir).expanduser() if models_dir is not None else default_models_dir()
    store = ModelStore(root)
    store.require_verified(model_name)  # NotFoundError naming the installed models, or IntegrityError
    return store.path(model_name), store.labels_path(model_name)


def read_labels(path: Path) -> list[str]:
    """Class names, one per line (line i = class i), trailing blank lines dropped; never empty."""
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except FileNotFoundError:
        raise NotFoundError("labels file not found", where=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read labels file: {exc}", where=path) from exc
    while names and not names[-1]:
        names.pop()
    if not names:
        raise InputError("labels file is empty", where=path)
    return names


def class_thresholds(
    score_threshold: float | Mapping[str, float] | None,
    labels: Sequence[str],
    default: float,
    *,
    normalise: Callable[[str], str] = str.lower,
) -> npt.NDArray[np.float32]:
    """One minimum score per label: ``None`` = ``default``; a number for all; ``{label: threshold}`` (labels
    compared after ``normalise``; labels not named get ``default``). Values outside [0, 1] or names of labels not
    detected are a :class:`ConfigError`."""
    if score_threshold is None:
        score_threshold = default
    if isinstance(score_threshold, Mapping):
        per_class = {normalise(k): float(v) for k, v in score_threshold.items()}
        unknown = sorted(set(per_class) - {normalise(label) for label in labels})
        if unknown:
            raise ConfigError(f"thresholds for classes not detected: {unknown}", where="score_threshold")
        values = [per_class.get(normalise(label), default) for label in labels]
    else:
        values = [float(score_threshold)] * len(labels)
    if not all(0.0 <= v <= 1.0 for v in values):
        raise ConfigError(f"thresholds must be in [0, 1], got {values}", where="score_threshold")
    return np.asarray(values, dtype=np.float32)
