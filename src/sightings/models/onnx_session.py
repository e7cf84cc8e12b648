"""Open an ONNX model with onnxruntime: CUDA when it is there, our errors when it fails.

Shared by every ONNX backend (the YOLO detector, the re-ID/foundation embedders).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sightings.core.errors import BackendUnavailableError, InputError

__all__ = ["open_onnx_session"]

PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


def open_onnx_session(
    model_path: str | os.PathLike[str],
    *,
    providers: Sequence[str] | None,
    num_threads: int | None,
    where: str,
    extra: str,
) -> Any:
    """An ``onnxruntime.InferenceSession`` for ``model_path``.

    ``providers=None`` takes CUDA when available, else CPU; named providers must all be available
    (:class:`BackendUnavailableError` otherwise, at ``{where}.options.providers``). A file onnxruntime cannot load is
    an :class:`InputError` naming it. ``extra`` is the pip extra that installs onnxruntime (for the hint).
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendUnavailableError(
            f"{where} needs onnxruntime", where=where, hint=f"pip install 'sightings[{extra}]'"
        ) from exc
    available = list(ort.get_available_providers())
    if providers is None:
        chosen = [p for p in PREFERRED_PROVIDERS if p in available]
    else:
        chosen = list(providers)
        missing = [p for p in chosen if p not in available]
        if missing:
            raise BackendUnavailableError(
                f"execution providers {missing} are not available (available: {', '.join(available)})",
                where=f"{where}.options.providers",
            )
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if num_threads is not None:
        options.intra_op_num_threads = int(num_threads)
    try:
        return ort.InferenceSession(str(model_path), sess_options=options, providers=chosen)
    except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidGraph, ...)
        raise InputError(f"not a loadable ONNX model: {str(exc).strip()[:300]}", where=model_path) from exc
