"""PyTorch's legacy ``torch.save`` format written without PyTorch, a random MobileNetV2 state dict, and a NumPy
forward pass of MobileNetV2 (the reference the ONNX converter is checked against)."""

from __future__ import annotations

import collections
import io
import pickle
import struct
import sys
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from sightings.models.mobilenetv2 import BLOCKS, EMBEDDING_DIM
from sightings.models.torch_legacy import MAGIC_NUMBER, PROTOCOL_VERSION

_STORAGE_NAMES = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.int64): "LongStorage",
    np.dtype(np.float16): "HalfStorage",
}


@contextmanager
def _fake_torch() -> Iterator[tuple[dict[str, type], Any]]:
    """Modules called ``torch`` / ``torch._utils`` for the pickler to name (restored afterwards)."""
    torch_mod, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    classes = {}
    for name in _STORAGE_NAMES.values():
        cls = type(name, (), {"__module__": "torch", "__qualname__": name})
        setattr(torch_mod, name, cls)
        classes[name] = cls

    def _rebuild_tensor_v2(*args: Any) -> None:  # pragma: no cover - only named in the pickle
        raise AssertionError(args)

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = torch_mod, utils
    try:
        yield classes, _rebuild_tensor_v2
    finally:
        for key, module in saved.items():
            if module is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = module


def legacy_torch_bytes(tensors: Mapping[str, np.ndarray]) -> bytes:
    """``torch.save(OrderedDict(tensors), _use_new_zipfile_serialization=False)``, byte for byte in structure."""
    with _fake_torch() as (classes, rebuild):

        class Storage:
            def __init__(self, key: str, array: np.ndarray) -> None:
                self.key, self.array = key, array

        class Tensor:
            def __init__(self, storage: Storage, shape: tuple[int, ...]) -> None:
                self.storage, self.shape = storage, shape

            def __reduce__(self) -> Any:
                stride, acc = [], 1
                for n in reversed(self.shape):
                    stride.insert(0, acc)
                    acc *= n
                return rebuild, (self.storage, 0, self.shape, tuple(stride), False, collections.OrderedDict())

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj: Any) -> Any:
                if isinstance(obj, Storage):
                    kind = classes[_STORAGE_NAMES[obj.array.dtype]]
                    return ("storage", kind, obj.key, "cpu", int(obj.array.size))
                return None

        storages, state = [], collections.OrderedDict()
        for i, (name, value) in enumerate(tensors.items()):
            array = np.array(value, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
            storage = Storage(str(94000000 + i), array)
            storages.append(storage)
            state[name] = Tensor(storage, tuple(array.shape))
        buf = io.BytesIO()
        for header in (MAGIC_NUMBER, PROTOCOL_VERSION, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(header, buf, protocol=2)
        Pickler(buf, protocol=2).dump(state)
        pickle.dump([s.key for s in storages], buf, protocol=2)
        for s in storages:
            buf.write(struct.pack("<q", s.array.size))
            buf.write(s.array.astype(s.array.dtype.newbyteorder("<")).tobytes())
        return buf.getvalue()


def _conv_bn(
    state: dict[str, np.ndarray], rng: np.random.Generator, conv: str, bn: str, shape: tuple[int, ...]
) -> None:
    fan_in = shape[1] * shape[2] * shape[3]
    state[f"{conv}.weight"] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
    c = shape[0]
    state[f"{bn}.weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
    state[f"{bn}.bias"] = rng.uniform(-0.2, 0.2, c).astype(np.float32)
    state[f"{bn}.running_mean"] = rng.uniform(-0.1, 0.1, c).astype(np.float32)
    state[f"{bn}.running_var"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
    state[f"{bn}.num_batches_tracked"] = np.array(1000, np.int64)


def random_mobilenetv2(seed: int = 0) -> dict[str, np.ndarray]:
    """A MobileNetV2 state dict (torchvision's names and shapes) with random weights, seeded."""
    rng = np.random.default_rng(seed)
    state: dict[str, np.ndarray] = {}
    _conv_bn(state, rng, "features.0.0", "features.0.1", (32, 3, 3, 3))
    cin, index = 32, 1
    for t, c, n, _ in BLOCKS:
        for _ in range(n):
            p, hidden, layer = f"features.{index}.conv", cin * t, 0
            if t != 1:
                _conv_bn(state, rng, f"{p}.0", f"{p}.1", (hidden, cin, 1, 1))
                layer = 3
            _conv_bn(state, rng, f"{p}.{layer}", f"{p}.{layer + 1}", (hidden, 1, 3, 3))
            _conv_bn(state, rng, f"{p}.{layer + 3}", f"{p}.{layer + 4}", (c, hidden, 1, 1))
            cin, index = c, index + 1
    _conv_bn(state, rng, f"features.{index}.0", f"features.{index}.1", (EMBEDDING_DIM, cin, 1, 1))
    return state


def _conv(x: np.ndarray, w: np.ndarray, stride: int, groups: int) -> np.ndarray:
    """x (N, C, H, W), w (O, C/groups, k, k), zero padding k // 2 (PyTorch's Conv2d, bias-free)."""
    k = w.shape[-1]
    pad = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    if groups == 1:
        return np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    return np.einsum("nchwij,cij->nchw", win, w[:, 0], optimize=True)


def _bn(x: np.ndarray, state: Mapping[str, np.ndarray], bn: str) -> np.ndarray:
    shape = (1, -1, 1, 1)
    mean, var = state[f"{bn}.running_mean"].reshape(shape), state[f"{bn}.running_var"].reshape(shape)
    gamma, beta = state[f"{bn}.weight"].reshape(shape), state[f"{bn}.bias"].reshape(shape)
    return (x - mean) / np.sqrt(var + 1e-5) * gamma + beta


def mobilenetv2_forward(state: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """MobileNetV2's features + spatial mean in float64 NumPy, batch norms applied as such (not folded)."""
    x = x.astype(np.float64)

    def cbr(x: np.ndarray, conv: str, bn: str, *, stride: int = 1, groups: int = 1, relu: bool = True) -> np.ndarray:
        y = _bn(_conv(x, state[f"{conv}.weight"].astype(np.float64), stride, groups), state, bn)
        return np.clip(y, 0, 6) if relu else y

    x = cbr(x, "features.0.0", "features.0.1", stride=2)
    cin, index = 32, 1
    for t, c, n, s in BLOCKS:
        for i in range(n):
            p, hidden, layer, stride = f"features.{index}.conv", cin * t, 0, s if i == 0 else 1
            y = x
            if t != 1:
                y = cbr(y, f"{p}.0", f"{p}.1")
                layer = 3
            y = cbr(y, f"{p}.{layer}", f"{p}.{layer + 1}", stride=stride, groups=hidden)
            y = cbr(y, f"{p}.{layer + 3}", f"{p}.{layer + 4}", relu=False)
            x = x + y if stride == 1 and cin == c else y
            cin, index = c, index + 1
    x = cbr(x, f"features.{index}.0", f"features.{index}.1")
    return x.mean(axis=(2, 3))
