"""Legacy ``torch.save`` files read without PyTorch, and MobileNetV2 state dicts converted to ONNX."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import IntegrityError
from sightings.models.torch_legacy import MAGIC_NUMBER, PROTOCOL_VERSION, read_state_dict
from torch_legacy_factories import legacy_torch_bytes, mobilenetv2_forward, random_mobilenetv2

DATA = Path(__file__).resolve().parent.parent / "data" / "torch"


def test_reads_pytorchs_own_legacy_file() -> None:
    state = read_state_dict((DATA / "tiny_legacy.pt").read_bytes(), where="tiny_legacy.pt")
    assert list(state) == ["a.weight", "a.bias", "n", "h", "t"]
    np.testing.assert_array_equal(state["a.weight"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert state["a.bias"].dtype == np.float32 and state["a.bias"].tolist() == [1.5, -2.0]
    assert state["n"].dtype == np.int64 and state["n"].shape == () and int(state["n"]) == 7
    assert state["h"].dtype == np.float16 and state["h"].tolist() == [1.0, 2.0]
    np.testing.assert_array_equal(state["t"], np.arange(12.0, dtype=np.float32).reshape(3, 4).T)  # strided view
    assert state["t"].flags.c_contiguous and state["t"].flags.owndata


def test_writer_round_trip() -> None:
    tensors = {"w": np.arange(24, dtype=np.float32).reshape(2, 3, 4), "k": np.array(3, np.int64)}
    state = read_state_dict(legacy_torch_bytes(tensors))
    assert list(state) == ["w", "k"]
    np.testing.assert_array_equal(state["w"], tensors["w"])
    assert int(state["k"]) == 3


def _header() -> bytes:
    buf = io.BytesIO()
    for value in (MAGIC_NUMBER, PROTOCOL_VERSION, {"little_endian": True}):
        pickle.dump(value, buf, protocol=2)
    return buf.getvalue()


class _RunsCode:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("echo pwned",))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "no magic number"),
        (pickle.dumps(123, protocol=2) * 3, "wrong magic number"),
        (_header() + pickle.dumps(_RunsCode(), protocol=2), r"refusing to load (posix|os|nt)\.system"),
        (_header() + pickle.dumps([1, 2], protocol=2) + pickle.dumps([], protocol=2), "holds a list"),
    ],
)
def test_bad_files_are_refused_with_one_line(data: bytes, match: str) -> None:
    with pytest.raises(IntegrityError, match=match):
        read_state_dict(data, where="weights.pt")


def test_zip_format_and_truncated_files_are_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", b"x")
    with pytest.raises(IntegrityError, match=r"legacy torch\.save"):
        read_state_dict(buf.getvalue())
    good = legacy_torch_bytes({"w": np.ones((4, 4), np.float32)})
    with pytest.raises(IntegrityError, match="truncated inside storage"):
        read_state_dict(good[:-5])
    with pytest.raises(IntegrityError, match="truncated before storage"):
        read_state_dict(good[: -4 * 16 - 8])


def test_mobilenetv2_onnx_matches_a_numpy_forward_pass() -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from sightings.models.mobilenetv2 import mobilenetv2_to_onnx

    state = random_mobilenetv2(seed=3)
    model = mobilenetv2_to_onnx(read_state_dict(legacy_torch_bytes(state)), where="random.pt")
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"image": x})
    want = mobilenetv2_forward(state, x)
    assert got.shape == (2, 1280)
    assert np.abs(got - want).max() <= 1e-4 * max(1.0, float(np.abs(want).max()))
    assert not np.allclose(got[0], got[1])  # two inputs, two answers


def test_not_a_mobilenetv2_is_refused_by_name() -> None:
    pytest.importorskip("onnx")
    from sightings.models.mobilenetv2 import mobilenetv2_to_onnx

    state = random_mobilenetv2(seed=1)
    missing = {k: v for k, v in state.items() if k != "features.5.conv.4.weight"}
    with pytest.raises(IntegrityError, match=r"no tensor 'features\.5\.conv\.4\.weight'"):
        mobilenetv2_to_onnx(missing, where="w.pt")
    misshapen = {**state, "features.0.0.weight": np.zeros((16, 3, 3, 3), np.float32)}
    with pytest.raises(IntegrityError, match=r"has shape \(16, 3, 3, 3\), expected \(32, 3, 3, 3\)"):
        mobilenetv2_to_onnx(misshapen, where="w.pt")
    extra = {**state, "classifier.1.weight": np.zeros((1000, 1280), np.float32)}
    with pytest.raises(IntegrityError, match="1 tensors are not part of MobileNetV2"):
        mobilenetv2_to_onnx(extra, where="w.pt")
