"""TensorFlow.js graph models → ONNX, for the convolutional networks that npm packages ship (no TensorFlow needed).

    graph = read_graph_model(json_bytes, {"centernet.bin": bin_bytes})
    onnx_bytes = graph_to_onnx(graph, outputs=["tower_0/keypoints", "tower_0/wh"], input_hw=(512, 512))

A TF.js *graph model* is a frozen TensorFlow ``GraphDef`` written as JSON (``modelTopology.node``) plus binary
weight shards described by ``weightsManifest`` (float32 / int32, or float16 / uint8 / uint16 quantized). This
module reads both and rewrites the part of the graph that computes ``outputs`` as an ONNX graph, op by op:

- the image input (NHWC, as in TensorFlow) is transposed once to NCHW; each output is transposed back to NHWC,
  so callers see TensorFlow's layout; the spatial size stays dynamic;
- ``Conv2D`` / ``DepthwiseConv2dNative`` and Grappler's fused forms (``_FusedConv2D``,
  ``FusedDepthwiseConv2dNative`` with ``BiasAdd`` [+ ``Relu`` | ``Relu6``]) → ``Conv`` (+ activation), ``SAME``
  padding → ``SAME_UPPER`` (TensorFlow pads the extra pixel at the end);
- element-wise ``Add``/``AddV2``/``Sub``/``Mul``/``Relu``/``Relu6``/``Sigmoid``, ``Mean`` (spatial or channel
  axes), ``ConcatV2``, ``ResizeBilinear`` (as an integer up-scale: the factor the graph was built with, so other
  input sizes keep working), ``MaxPool`` and ``Identity``.

Anything else raises :class:`InputError` naming the node and the op; nothing is guessed. The converted network
computes the same numbers as TF.js (checked against ``@tensorflow/tfjs`` in Node to ~1e-6 on Human's CenterNet,
docs/detectors.md). ``onnx`` is needed only here (the ``vision`` extra installs it).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError, IntegrityError
from sightings.models.onnx_build import finish_model, import_onnx

__all__ = ["CONVERTER_VERSION", "TfjsGraph", "graph_to_onnx", "read_graph_model"]

CONVERTER_VERSION = 1
"""Bumped whenever a change here can change a converted file: ``sightings models install`` then converts again."""

_PLAIN_DTYPES: dict[str, Any] = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT_DTYPES: dict[str, Any] = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}
_CONV_OPS = {"Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"}
_BINARY_OPS = {"Add": "Add", "AddV2": "Add", "Sub": "Sub", "Mul": "Mul"}
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1, -2: 3, -3: 2, -4: 0}


@dataclass(frozen=True, slots=True)
class TfjsGraph:
    """A TF.js graph model read into memory: its nodes by name, in file order, and its weights as arrays."""

    nodes: dict[str, dict[str, Any]]
    weights: dict[str, npt.NDArray[Any]]
    where: str

    def node(self, name: str) -> dict[str, Any]:
        """The node called ``name`` (an ``op:k`` output reference or a ``^control`` input names the same node)."""
        key = name.split(":", maxsplit=1)[0].lstrip("^")
        try:
            return self.nodes[key]
        except KeyError:
            raise InputError(f"the graph has no node {key!r}", where=self.where) from None


def _weights(manifest: Sequence[Mapping[str, Any]], shards: Mapping[str, bytes], where: str) -> dict[str, Any]:
    out: dict[str, npt.NDArray[Any]] = {}
    for group in manifest:
        paths = [str(p) for p in group.get("paths", [])]
        missing = [p for p in paths if p not in shards]
        if missing:
            raise InputError(f"weight shard {missing[0]!r} was not given", where=where)
        blob = b"".join(shards[p] for p in paths)
        offset = 0
        for spec in group.get("weights", []):
            name, shape = str(spec["name"]), [int(s) for s in spec["shape"]]
            count = math.prod(shape)
            quant = spec.get("quantization")
            dtype = _QUANT_DTYPES.get(quant["dtype"]) if quant else _PLAIN_DTYPES.get(spec["dtype"])
            if dtype is None:
                raise InputError(f"weight {name!r}: unsupported dtype {quant or spec['dtype']}", where=where)
            size = count * np.dtype(dtype).itemsize
            if offset + size > len(blob):
                raise IntegrityError(
                    f"weight {name!r} needs bytes {offset}..{offset + size}, the shards hold {len(blob)}", where=where
                )
            arr = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
            offset += size
            if quant and quant["dtype"] == "float16":
                arr = arr.astype(np.float32)
            elif quant:
                arr = arr.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
            out[name] = np.array(arr).reshape(shape)
        if offset != len(blob):
            raise IntegrityError(f"the weights manifest covers {offset} of {len(blob)} shard bytes", where=where)
    return out


def read_graph_model(topology: bytes, shards: Mapping[str, bytes], *, where: str = "model.json") -> TfjsGraph:
    """Parse a TF.js graph model: ``topology`` is the ``model.json`` text, ``shards`` its weight files by name."""
    try:
        meta = json.loads(topology)
        nodes = {str(n["name"]): n for n in meta["modelTopology"]["node"]}
        manifest = meta["weightsManifest"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"not a TF.js graph model ({exc})", where=where) from None
    if meta.get("format") not in (None, "graph-model"):
        raise InputError(f"format is {meta.get('format')!r}, expected 'graph-model'", where=where)
    return TfjsGraph(nodes, _weights(manifest, shards, where), where)


def _text(attr: Mapping[str, Any], key: str) -> str:
    return base64.b64decode(attr[key]["s"]).decode()


def _ints(attr: Mapping[str, Any], key: str) -> list[int]:
    return [int(v) for v in attr.get(key, {}).get("list", {}).get("i", [])]


def _fused_ops(attr: Mapping[str, Any]) -> list[str]:
    return [base64.b64decode(v).decode() for v in attr.get("fused_ops", {}).get("list", {}).get("s", [])]


class _Builder:
    """Accumulates ONNX nodes and initialisers while walking the TF graph in dependency order."""

    def __init__(self, graph: TfjsGraph, input_hw: tuple[int, int]) -> None:
        self.onnx = import_onnx("converting a TF.js model", where=graph.where)
        self.graph = graph
        self.input_hw = input_hw
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.consts: dict[str, npt.NDArray[Any]] = {}
        self.spatial: dict[str, tuple[int, int]] = {}  # static H, W for the build-time input size

    @staticmethod
    def tensor(name: str) -> str:
        """The ONNX name of a TF tensor: prefixed, so no internal name can clash with an output's short name."""
        return name if name in ("", "image") or name.startswith("t:") else f"t:{name}"

    def const(self, value: npt.ArrayLike, name: str) -> str:
        self.inits.append(self.onnx.numpy_helper.from_array(np.asarray(value), self.tensor(name)))
        return self.tensor(name)

    def add(self, op: str, inputs: list[str], output: str, **attrs: Any) -> None:
        args = [self.tensor(i) for i in inputs]
        self.nodes.append(self.onnx.helper.make_node(op, args, [self.tensor(output)], **attrs))

    def fail(self, name: str, why: str) -> InputError:
        return InputError(f"node {name!r}: {why}", where=self.graph.where)

    def activation(self, kind: str | None, src: str, dst: str) -> None:
        if kind is None:
            return
        if kind == "Relu":
            self.add("Relu", [src], dst)
        elif kind == "Relu6":
            self.add("Clip", [src, self.const(np.float32(0), dst + "/lo"), self.const(np.float32(6), dst + "/hi")], dst)
        else:
            raise self.fail(dst, f"fused activation {kind!r} is not supported")

    def conv(self, name: str, node: Mapping[str, Any], inputs: list[str]) -> None:
        attr = node.get("attr", {})
        if _text(attr, "data_format") != "NHWC":
            raise self.fail(name, "only NHWC convolutions are supported")
        weights = self.consts.get(inputs[1])
        if weights is None or weights.ndim != 4:
            raise self.fail(name, "the filter must be a 4-D constant")
        kh, kw, cin, cout = weights.shape
        strides, dilations = _ints(attr, "strides")[1:3], _ints(attr, "dilations")[1:3] or [1, 1]
        padding = _text(attr, "padding")
        options: dict[str, Any] = {"strides": strides, "dilations": dilations, "kernel_shape": [kh, kw]}
        if padding == "SAME":
            options["auto_pad"] = "SAME_UPPER"
        elif padding != "VALID":
            raise self.fail(name, f"padding {padding!r} is not supported")
        if "Depthwise" in node["op"]:
            kernel = weights.transpose(2, 3, 0, 1).reshape(cin * cout, 1, kh, kw)
            options["group"] = cin
        else:
            kernel = weights.transpose(3, 2, 0, 1)
        args = [inputs[0], self.const(kernel.astype(np.float32), name + "/kernel")]
        fused = _fused_ops(attr)
        if fused:
            if fused[0] != "BiasAdd" or len(fused) > 2:
                raise self.fail(name, f"fused ops {fused} are not supported")
            args.append(self.const(self.consts[inputs[2]].astype(np.float32), name + "/bias"))
        act = fused[1] if len(fused) == 2 else None
        self.add("Conv", args, name + "/conv" if act else name, **options)
        self.activation(act, name + "/conv", name)
        h, w = self.spatial[inputs[0]]
        if padding == "SAME":
            self.spatial[name] = (math.ceil(h / strides[0]), math.ceil(w / strides[1]))
        else:
            eh, ew = (kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1
            self.spatial[name] = ((h - eh) // strides[0] + 1, (w - ew) // strides[1] + 1)

    def nchw_const(self, name: str, value: npt.NDArray[Any]) -> str:
        """A constant operand of an element-wise op, moved to NCHW broadcasting."""
        arr = np.asarray(value, dtype=np.float32)
        if arr.ndim == 1 and arr.size > 1:
            arr = arr.reshape(-1, 1, 1)
        elif arr.ndim == 4:
            arr = arr.transpose(0, 3, 1, 2)
        elif arr.ndim not in (0, 1):
            raise self.fail(name, f"a {arr.ndim}-D constant operand is not supported")
        return self.const(arr, name)

    def elementwise(self, name: str, node: Mapping[str, Any], inputs: list[str]) -> None:
        args = [
            self.nchw_const(f"{name}/arg{i}", self.consts[x]) if x in self.consts else x for i, x in enumerate(inputs)
        ]
        self.add(_BINARY_OPS[node["op"]], args, name)
        shapes = [self.spatial[x] for x in inputs if x in self.spatial]  # broadcasting: the larger wins
        self.spatial[name] = (max(h for h, _ in shapes), max(w for _, w in shapes))

    def unary(self, name: str, node: Mapping[str, Any], inputs: list[str]) -> None:
        op = node["op"]
        if op in ("Relu", "Relu6"):
            self.activation(op, inputs[0], name)
        else:
            self.add(op, [inputs[0]], name)
        self.spatial[name] = self.spatial[inputs[0]]

    def mean(self, name: str, node: Mapping[str, Any], inputs: list[str]) -> None:
        axes = [_NHWC_TO_NCHW_AXIS[int(a)] for a in np.atleast_1d(self.consts[inputs[1]])]
        if not node.get("attr", {}).get("keep_dims", {}).get("b", False):
            raise self.fail(name, "Mean without keep_dims is not supported")
        self.add("ReduceMean", [inputs[0], self.const(np.array(axes, np.int64), name + "/axes")], name, keepdims=1)
        h, w = self.spatial[inputs[0]]
        self.spatial[name] = (1 if 2 in axes else h, 1 if 3 in axes else w)

    def concat(self, name: str, node: Mapping[str, Any], inputs: list[str]) -> None:
        self.add("Concat", inputs[:-1], name, axis=_NHWC_TO_NCHW_AXIS[int(self.consts[inputs[-1]])])
        self.spatial[name] = self.spatial[inputs[0]]

    def resize(self, name: str, node: Mapping[str, Any], inputs: list[str]) -> None:
        attr = node.get("attr", {})
        if attr.get("align_corners", {}).get("b") or attr.get("half_pixel_centers", {}).get("b"):
            raise self.fail(name, "only align_corners=false, half_pixel_centers=false is supported")
        size = [int(v) for v in self.consts[inputs[1]]]
        h, w = self.spatial[inputs[0]]
        if size[0] % h or size[1] % w:
            raise self.fail(name, f"resize {h}x{w} → {size[0]}x{size[1]} is not an integer up-scale")
        scales = np.array([1, 1, size[0] // h, size[1] // w], np.float32)
        self.add(
            "Resize",
            [inputs[0], "", self.const(scales, name + "/scales")],
            name,
            mode="linear",
            coordinate_transformation_mode="asymmetric",
        )
        self.spatial[name] = (size[0], size[1])

    def max_pool(self, name: str, node: Mapping[str, Any], inputs: list[str]) -> None:
        attr = node.get("attr", {})
        kernel, strides = _ints(attr, "ksize")[1:3], _ints(attr, "strides")[1:3]
        if _text(attr, "padding") != "SAME" or strides != [1, 1]:
            raise self.fail(name, "only stride-1 SAME max-pooling is supported")
        self.add("MaxPool", [inputs[0]], name, kernel_shape=kernel, strides=strides, auto_pad="SAME_UPPER")
        self.spatial[name] = self.spatial[inputs[0]]

    def visit(self, name: str, node: Mapping[str, Any], inputs: list[str]) -> None:
        op = node["op"]
        if op == "Const":
            if name not in self.graph.weights:
                raise self.fail(name, "constant without a value in the weights manifest")
            self.consts[name] = self.graph.weights[name]
        elif op == "Placeholder":
            self.add("Transpose", ["image"], name, perm=[0, 3, 1, 2])
            self.spatial[name] = self.input_hw
        elif op in _CONV_OPS:
            self.conv(name, node, inputs)
        elif op in _BINARY_OPS:
            self.elementwise(name, node, inputs)
        elif op in _HANDLERS:
            getattr(self, _HANDLERS[op])(name, node, inputs)
        else:
            raise self.fail(name, f"op {op!r} is not supported by the TF.js → ONNX converter")


_HANDLERS = {
    "Relu": "unary",
    "Relu6": "unary",
    "Sigmoid": "unary",
    "Identity": "unary",
    "Mean": "mean",
    "ConcatV2": "concat",
    "ResizeBilinear": "resize",
    "MaxPool": "max_pool",
}


def graph_to_onnx(
    graph: TfjsGraph, outputs: Sequence[str], *, input_hw: tuple[int, int], producer: str = "sightings"
) -> bytes:
    """The sub-graph of ``graph`` that computes ``outputs`` as a serialized ONNX model (opset 18).

    One float input ``image`` of shape (1, height, width, 3) (NHWC, as the TF.js model takes it); one output per
    name, NHWC, named after the last part of the TF name (``tower_0/wh`` → ``wh``). ``input_hw`` is the input
    size the graph was built for; it fixes the up-scale factor of each ``ResizeBilinear``.
    """
    builder = _Builder(graph, input_hw)
    order: list[str] = []
    seen: set[str] = set()
    for out in outputs:
        stack: list[tuple[str, bool]] = [(graph.node(out)["name"], False)]
        while stack:  # iterative post-order walk: inputs before the node
            name, expanded = stack.pop()
            if expanded:
                order.append(name)
                continue
            if name in seen:
                continue
            seen.add(name)
            stack.append((name, True))
            for inp in reversed(graph.node(name).get("input", [])):
                if not inp.startswith("^"):
                    stack.append((graph.node(inp)["name"], False))
    for name in order:
        node = graph.node(name)
        builder.visit(name, node, [graph.node(i)["name"] for i in node.get("input", []) if not i.startswith("^")])
    onnx = builder.onnx
    helper = onnx.helper
    results = []
    for out in outputs:
        short = out.rsplit("/", 1)[-1]
        builder.nodes.append(
            helper.make_node("Transpose", [builder.tensor(graph.node(out)["name"])], [short], perm=[0, 2, 3, 1])
        )
        shape = [1, f"{short}_h", f"{short}_w", None]
        results.append(helper.make_tensor_value_info(short, onnx.TensorProto.FLOAT, shape))
    try:
        return finish_model(
            onnx,
            name="tfjs_graph",
            nodes=builder.nodes,
            inputs=[helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, [1, "height", "width", 3])],
            outputs=results,
            initializers=builder.inits,
            producer=producer,
        )
    except onnx.checker.ValidationError as exc:
        why = str(exc).splitlines()[0]
        raise InputError(f"the converted graph is not valid ONNX: {why}", where=graph.where) from exc
