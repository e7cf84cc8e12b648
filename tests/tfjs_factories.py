"""Tiny TF.js graph models written the way ``tensorflowjs_converter`` writes them (JSON topology + weight shard).

``GraphBuilder`` adds nodes with TensorFlow's attribute encoding (strings base64, lists of ints as strings) and
weights as constants; ``to_files()`` gives the ``model.json`` bytes and the ``.bin`` shard. ``tiny_centernet``
is a CenterNet-shaped model (heat-map + edge distances at stride 4) whose class 0 fires on bright 4×4 cells.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import numpy.typing as npt


def _s(text: str) -> dict[str, str]:
    return {"s": base64.b64encode(text.encode()).decode()}


def _ints(values: list[int]) -> dict[str, Any]:
    return {"list": {"i": [str(v) for v in values]}}


class GraphBuilder:
    """Builds a TF.js graph model: nodes in order, constants stored in one weight shard."""

    def __init__(self, *, shard: str = "model.bin", quantize_float16: bool = False) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.weights: list[tuple[str, npt.NDArray[Any]]] = []
        self.shard = shard
        self.quantize_float16 = quantize_float16

    def node(self, name: str, op: str, inputs: list[str] | None = None, **attr: Any) -> str:
        entry: dict[str, Any] = {"name": name, "op": op, "attr": {"T": {"type": "DT_FLOAT"}, **attr}}
        if inputs:
            entry["input"] = inputs
        self.nodes.append(entry)
        return name

    def const(self, name: str, value: npt.ArrayLike) -> str:
        arr = np.asarray(value)
        self.weights.append((name, arr))
        dtype = "DT_INT32" if arr.dtype.kind in "iu" else "DT_FLOAT"
        return self.node(name, "Const", dtype={"type": dtype}, value={"tensor": {"dtype": dtype}})

    def placeholder(self, name: str, shape: tuple[int, ...]) -> str:
        dims = {"dim": [{"size": str(d)} for d in shape]}
        return self.node(name, "Placeholder", shape={"shape": dims}, dtype={"type": "DT_FLOAT"})

    def conv(
        self,
        name: str,
        x: str,
        kernel: npt.ArrayLike,
        bias: npt.ArrayLike | None = None,
        *,
        stride: int = 1,
        padding: str = "SAME",
        activation: str | None = None,
        depthwise: bool = False,
    ) -> str:
        w = self.const(f"{name}_weights", np.asarray(kernel, np.float32))
        inputs = [x, w]
        attr: dict[str, Any] = {
            "strides": _ints([1, stride, stride, 1]),
            "dilations": _ints([1, 1, 1, 1]),
            "padding": _s(padding),
            "data_format": _s("NHWC"),
        }
        if bias is None:
            return self.node(name, "DepthwiseConv2dNative" if depthwise else "Conv2D", inputs, **attr)
        inputs.append(self.const(f"{name}_bias", np.asarray(bias, np.float32)))
        fused = ["BiasAdd", *([activation] if activation else [])]
        attr["fused_ops"] = {"list": {"s": [base64.b64encode(f.encode()).decode() for f in fused]}}
        attr["num_args"] = {"i": "1"}
        return self.node(name, "FusedDepthwiseConv2dNative" if depthwise else "_FusedConv2D", inputs, **attr)

    def to_files(self) -> tuple[bytes, bytes]:
        specs, blob = [], b""
        for name, arr in self.weights:
            spec: dict[str, Any] = {"name": name, "shape": list(arr.shape)}
            if arr.dtype.kind in "iu":
                spec["dtype"] = "int32"
                blob += arr.astype("<i4").tobytes()
            elif self.quantize_float16:
                spec["dtype"] = "float32"
                spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
                blob += arr.astype("<f2").tobytes()
            else:
                spec["dtype"] = "float32"
                blob += arr.astype("<f4").tobytes()
            specs.append(spec)
        model = {
            "format": "graph-model",
            "generatedBy": "tests",
            "convertedBy": "tests/tfjs_factories.py",
            "modelTopology": {"node": self.nodes, "versions": {"producer": 1}},
            "weightsManifest": [{"paths": [self.shard], "weights": specs}],
        }
        return json.dumps(model).encode(), blob


def tiny_centernet(
    num_classes: int = 80, *, size: int = 64, edge: float = 6.0, shard: str = "tiny.bin"
) -> GraphBuilder:
    """A CenterNet-shaped graph: class 0 scores ~1 on 4×4 cells that are white, ~0 on dark ones; every other class
    ~0; every cell's box edges are ``edge`` input pixels away on each side."""
    g = GraphBuilder(shard=shard)
    x = g.placeholder("tower_0/images", (1, size, size, 3))
    heat_kernel = np.zeros((4, 4, 3, num_classes), np.float32)
    heat_kernel[:, :, :, 0] = 1.0 / 255.0  # sum of a white 4×4 cell = 48
    heat_bias = np.full(num_classes, -10.0, np.float32)
    heat_bias[0] = -24.0
    logits = g.conv("heat", x, heat_kernel, heat_bias, stride=4)
    g.node("tower_0/Sigmoid", "Sigmoid", [logits])
    g.node("tower_0/keypoints", "Identity", ["tower_0/Sigmoid"])
    edges = g.conv("edges", x, np.zeros((4, 4, 3, 4), np.float32), np.full(4, edge, np.float32), stride=4)
    g.node("tower_0/wh", "Identity", [edges])
    return g
