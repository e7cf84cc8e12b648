"""TF.js graph model → ONNX: every supported op against a NumPy reference (run by onnxruntime); bad models fail."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from sightings.core.errors import InputError, IntegrityError
from sightings.models.tfjs_graph import graph_to_onnx, read_graph_model
from tfjs_factories import GraphBuilder

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

F = npt.NDArray[np.float32]


# -- NumPy references (NHWC, one image) --------------------------------------------------------------------------
def _same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    total = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2  # TensorFlow puts the odd pixel at the end


def conv(x: F, k: F, s: int = 1, padding: str = "SAME") -> F:
    kh, kw, _, cout = k.shape
    if padding == "SAME":
        (t, b), (left, r) = _same_pad(x.shape[0], kh, s), _same_pad(x.shape[1], kw, s)
        x = np.pad(x, ((t, b), (left, r), (0, 0)))
    oh, ow = (x.shape[0] - kh) // s + 1, (x.shape[1] - kw) // s + 1
    out = np.zeros((oh, ow, cout), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[i * s : i * s + kh, j * s : j * s + kw, :]
            out[i, j] = np.tensordot(patch, k, axes=([0, 1, 2], [0, 1, 2]))
    return out.astype(np.float32)


def depthwise(x: F, k: F, s: int = 1) -> F:
    kh, kw, c, mult = k.shape
    (t, b), (left, r) = _same_pad(x.shape[0], kh, s), _same_pad(x.shape[1], kw, s)
    x = np.pad(x, ((t, b), (left, r), (0, 0)))
    oh, ow = (x.shape[0] - kh) // s + 1, (x.shape[1] - kw) // s + 1
    out = np.zeros((oh, ow, c * mult), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[i * s : i * s + kh, j * s : j * s + kw, :]
            out[i, j] = np.einsum("hwc,hwcm->cm", patch, k).reshape(-1)
    return out.astype(np.float32)


def resize_bilinear(x: F, oh: int, ow: int) -> F:
    """TensorFlow's legacy ResizeBilinear (align_corners=False, half_pixel_centers=False)."""
    h, w = x.shape[:2]
    out = np.zeros((oh, ow, x.shape[2]), np.float32)
    for i in range(oh):
        fy = i * h / oh
        y0 = int(np.floor(fy))
        y1, dy = min(y0 + 1, h - 1), fy - y0
        for j in range(ow):
            fx = j * w / ow
            x0 = int(np.floor(fx))
            x1, dx = min(x0 + 1, w - 1), fx - x0
            top = x[y0, x0] * (1 - dx) + x[y0, x1] * dx
            bottom = x[y1, x0] * (1 - dx) + x[y1, x1] * dx
            out[i, j] = top * (1 - dy) + bottom * dy
    return out


def max_pool3(x: F) -> F:
    p = np.pad(x, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    windows = [p[i : i + x.shape[0], j : j + x.shape[1]] for i in range(3) for j in range(3)]
    return np.asarray(np.max(windows, axis=0), dtype=np.float32)


def sigmoid(x: F) -> F:
    return (1 / (1 + np.exp(-x))).astype(np.float32)


# -- the graph ---------------------------------------------------------------------------------------------------
def build(rng: np.random.Generator, *, quantize_float16: bool = False) -> tuple[GraphBuilder, dict[str, F]]:
    """Every supported op once; returns the graph and its (float16-rounded when quantized) weights."""
    g = GraphBuilder(quantize_float16=quantize_float16)
    p = {
        "k1": rng.normal(size=(3, 3, 3, 4)).astype(np.float32),
        "b1": rng.normal(size=4).astype(np.float32),
        "kd": rng.normal(size=(3, 3, 4, 1)).astype(np.float32),
        "bd": rng.normal(size=4).astype(np.float32),
        "scale": rng.uniform(0.5, 1.5, size=4).astype(np.float32),
        "kp": rng.normal(size=(1, 1, 4, 2)).astype(np.float32),
        "ks": rng.normal(size=(3, 3, 3, 1)).astype(np.float32),
    }
    if quantize_float16:
        p = {k: v.astype(np.float16).astype(np.float32) for k, v in p.items()}
    x = g.placeholder("images", (1, 16, 16, 3))
    c1 = g.conv("c1", x, p["k1"], p["b1"], stride=2, activation="Relu")
    d1 = g.conv("d1", c1, p["kd"], p["bd"], depthwise=True, activation="Relu6")
    scaled = g.node("scaled", "Mul", [g.const("scale", p["scale"]), d1])
    shifted = g.node("shifted", "AddV2", [scaled, g.const("shift", np.float32(0.25))])
    low = g.node("low", "Sub", [shifted, g.const("half", np.float32(0.5))])
    pooled = g.node("se", "Mean", [low, g.const("axes", np.array([1, 2], np.int32))], keep_dims={"b": True})
    gate = g.node("gate", "Sigmoid", [pooled])
    excited = g.node("excited", "Mul", [low, gate])
    relu = g.node("relu", "Relu", [excited])
    proj = g.conv("proj", relu, p["kp"], padding="VALID")
    up = g.node(
        "up",
        "ResizeBilinear",
        [proj, g.const("size", np.array([16, 16], np.int32))],
        align_corners={"b": False},
        half_pixel_centers={"b": False},
    )
    skip = g.conv("skip", x, p["ks"], depthwise=True)
    cat = g.node("cat", "ConcatV2", [up, skip, g.const("axis", np.int32(3))])
    pool = g.node(
        "pool",
        "MaxPool",
        [cat],
        ksize={"list": {"i": ["1", "3", "3", "1"]}},
        strides={"list": {"i": ["1", "1", "1", "1"]}},
        padding={"s": "U0FNRQ=="},
        data_format={"s": "TkhXQw=="},
    )
    g.node("out/sig", "Sigmoid", [pool])
    g.node("out/result", "Identity", ["out/sig"])
    return g, p


def reference(x: F, p: dict[str, F]) -> tuple[F, F]:
    c1 = np.maximum(conv(x, p["k1"], 2) + p["b1"], 0)
    d1 = np.clip(depthwise(c1, p["kd"]) + p["bd"], 0, 6)
    low = p["scale"] * d1 + 0.25 - 0.5
    excited = np.maximum(low * sigmoid(low.mean(axis=(0, 1), keepdims=True)), 0)
    up = resize_bilinear(conv(excited, p["kp"], padding="VALID"), 16, 16)
    cat = np.concatenate([up, depthwise(x, p["ks"])], axis=2)
    return sigmoid(max_pool3(cat)), c1


def run(onnx_bytes: bytes, x: F) -> list[F]:
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, {"image": x[None]})]


@pytest.mark.parametrize("quantized", [False, True], ids=["float32", "float16-weights"])
def test_every_supported_op_matches_numpy(quantized: bool) -> None:
    rng = np.random.default_rng(7)
    g, params = build(rng, quantize_float16=quantized)
    topology, shard = g.to_files()
    graph = read_graph_model(topology, {"model.bin": shard})
    model = graph_to_onnx(graph, ["out/result", "c1"], input_hw=(16, 16))
    x = rng.uniform(0, 1, size=(16, 16, 3)).astype(np.float32)
    got, got_c1 = run(model, x)
    want, want_c1 = reference(x, params)
    assert got.shape == (1, 16, 16, 5) and got_c1.shape == (1, 8, 8, 4)
    np.testing.assert_allclose(got[0], want, atol=2e-5)
    np.testing.assert_allclose(got_c1[0], want_c1, atol=2e-5)


def test_the_input_size_stays_dynamic() -> None:
    g, params = build(np.random.default_rng(3))
    graph = read_graph_model(*_files(g))
    model = graph_to_onnx(graph, ["c1"], input_hw=(16, 16))
    x = np.random.default_rng(4).uniform(0, 1, size=(32, 24, 3)).astype(np.float32)
    (got,) = run(model, x)
    np.testing.assert_allclose(got[0], np.maximum(conv(x, params["k1"], 2) + params["b1"], 0), atol=2e-5)


def _files(g: GraphBuilder) -> tuple[bytes, dict[str, bytes]]:
    topology, shard = g.to_files()
    return topology, {g.shard: shard}


def test_an_unsupported_op_names_the_node() -> None:
    g = GraphBuilder()
    x = g.placeholder("images", (1, 8, 8, 3))
    g.node("squash", "Tanh", [x])
    graph = read_graph_model(*_files(g), where="m.json")
    with pytest.raises(InputError, match=r"node 'squash': op 'Tanh' is not supported") as info:
        graph_to_onnx(graph, ["squash"], input_hw=(8, 8))
    assert info.value.where == "m.json"


def test_missing_and_short_weight_shards_are_refused() -> None:
    g, _ = build(np.random.default_rng(0))
    topology, shard = g.to_files()
    with pytest.raises(InputError, match=r"weight shard 'model\.bin' was not given"):
        read_graph_model(topology, {})
    with pytest.raises(IntegrityError, match="the shards hold"):
        read_graph_model(topology, {"model.bin": shard[:-8]})
    with pytest.raises(IntegrityError, match="covers"):
        read_graph_model(topology, {"model.bin": shard + b"\0" * 4})
    with pytest.raises(InputError, match=r"not a TF\.js graph model"):
        read_graph_model(b"{not json", {})
    with pytest.raises(InputError, match="the graph has no node 'nope'"):
        graph_to_onnx(read_graph_model(topology, {"model.bin": shard}), ["nope"], input_hw=(16, 16))


def test_a_resize_that_is_not_an_integer_upscale_is_refused() -> None:
    g = GraphBuilder()
    x = g.placeholder("images", (1, 8, 8, 3))
    g.node("up", "ResizeBilinear", [x, g.const("size", np.array([12, 12], np.int32))])
    with pytest.raises(InputError, match="not an integer up-scale"):
        graph_to_onnx(read_graph_model(*_files(g)), ["up"], input_hw=(8, 8))


def test_without_the_onnx_package_the_conversion_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from sightings.core.errors import BackendUnavailableError

    g, _ = build(np.random.default_rng(1))
    graph = read_graph_model(*_files(g))
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    with pytest.raises(BackendUnavailableError, match="needs the onnx package") as info:
        graph_to_onnx(graph, ["c1"], input_hw=(16, 16))
    assert "sightings[vision]" in str(info.value)
