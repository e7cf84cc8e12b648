"""What the install-time converters share when they write an ONNX model (``mobilenetv2``, ``tfjs_graph``).

Both build a graph node by node with ``onnx.helper`` and finish it the same way: opset 18, IR version 8 (readable by
onnxruntime ≥ 1.14), checked by ``onnx.checker``, serialized.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sightings.core.errors import BackendUnavailableError

__all__ = ["IR_VERSION", "OPSET", "finish_model", "import_onnx"]

OPSET = 18
IR_VERSION = 8
"""readable by onnxruntime ≥ 1.14"""


def import_onnx(what: str, *, where: str) -> Any:
    """The ``onnx`` module, or a BackendUnavailableError saying that ``what`` needs it, with the install hint."""
    try:
        import onnx
    except ImportError as exc:
        raise BackendUnavailableError(
            f"{what} needs the onnx package", where=where, hint="pip install 'sightings[vision]'"
        ) from exc
    return onnx


def finish_model(
    onnx: Any,
    *,
    name: str,
    nodes: Sequence[Any],
    inputs: Sequence[Any],
    outputs: Sequence[Any],
    initializers: Sequence[Any],
    producer: str,
) -> bytes:
    """The graph as a checked, serialized model (``onnx.checker.ValidationError`` when it is not valid ONNX)."""
    helper = onnx.helper
    model = helper.make_model(
        helper.make_graph(list(nodes), name, list(inputs), list(outputs), list(initializers)),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=producer,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data
