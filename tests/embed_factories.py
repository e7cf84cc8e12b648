"""Generated inputs for the embedder tests: patterned textures and tiny ONNX models built with ``onnx.helper``."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_blob_texture(seed: int, height: int = 160, width: int = 200, blobs: int = 60) -> np.ndarray:
    """A patterned RGB image (random dark ellipses on a light coat), like spots on an animal's flank."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 200, np.uint8)
    for _ in range(blobs):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = int(rng.integers(3, 12))
        axes = (radius, max(2, int(radius * rng.uniform(0.5, 1.5))))
        colour = tuple(int(c) for c in rng.integers(0, 120, 3))
        cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    return img


def warp_homography(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` seen from a slightly different viewpoint (rotation, shear, perspective) and the homography used."""
    import cv2

    h = np.array([[0.9, 0.1, 10.0], [-0.08, 0.95, 5.0], [0.0003, 0.0002, 1.0]])
    warped = cv2.warpPerspective(image, h, (image.shape[1], image.shape[0]), borderValue=(200, 200, 200))
    return warped, h


def _save(graph: object, path: Path, opset: int = 18) -> Path:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])  # type: ignore[arg-type]
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def make_conv_model(
    path: Path,
    *,
    channels_out: int = 8,
    size: int | None = 32,
    batch: int | str = "N",
    gap_inside: bool = False,
    in_channels: int = 3,
    rank: int = 4,
) -> Path:
    """Conv 3×3 (+ ReLU): output a (B, C, H, W) feature map, or with ``gap_inside`` a (B, C) vector."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = rng.normal(0, 0.5, (channels_out, in_channels, 3, 3)).astype(np.float32)
    dims: list[int | str] = [batch, in_channels, size or "H", size or "W"][:rank]
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["feat"]),
    ]
    if gap_inside:
        nodes += [
            helper.make_node("GlobalAveragePool", ["feat"], ["gap"]),
            helper.make_node("Flatten", ["gap"], ["embedding"]),
        ]
        out = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, channels_out])
    else:
        nodes.append(helper.make_node("Identity", ["feat"], ["embedding"]))
        out = helper.make_tensor_value_info(
            "embedding", TensorProto.FLOAT, [batch, channels_out, size or "H", size or "W"]
        )
    graph = helper.make_graph(
        nodes,
        "conv_embedder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)],
        [out],
        initializer=[numpy_helper.from_array(weight, "w")],
    )
    return _save(graph, path)


def make_token_model(path: Path, *, dim: int = 6, patch: int = 14, size: int = 28, with_pooler: bool = False) -> Path:
    """A ViT-like stub: patch embedding (Conv k=s=patch) → tokens (B, T, D) with a CLS token = mean of the patches.

    Outputs ``last_hidden_state`` (B, 1 + T, D) and, with ``with_pooler``, ``pooler_output`` (B, D) = token 0 × 2.
    """
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    weight = rng.normal(0, 0.2, (dim, 3, patch, patch)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["pixel_values", "w"], ["patches"], strides=[patch, patch]),
        helper.make_node("Reshape", ["patches", "shape"], ["flat"]),  # (B, D, h, w) → (B, D, T)
        helper.make_node("Transpose", ["flat"], ["tokens"], perm=[0, 2, 1]),  # (B, T, D)
        helper.make_node("ReduceMean", ["tokens", "axis1"], ["cls"], keepdims=1),  # (B, 1, D)
        helper.make_node("Concat", ["cls", "tokens"], ["last_hidden_state"], axis=1),
    ]
    t = (size // patch) ** 2
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["N", 1 + t, dim])]
    inits = [
        numpy_helper.from_array(weight, "w"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([0, dim, -1], np.int64), "shape"),
    ]
    if with_pooler:
        nodes += [
            helper.make_node("Squeeze", ["cls", "axis1"], ["cls2d"]),
            helper.make_node("Mul", ["cls2d", "two"], ["pooler_output"]),
        ]
        inits.append(numpy_helper.from_array(np.array(2.0, np.float32), "two"))
        outputs.append(helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, ["N", dim]))
    graph = helper.make_graph(
        nodes,
        "token_embedder",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["N", 3, size, size])],
        outputs,
        initializer=inits,
    )
    return _save(graph, path)


def make_nhwc_model(path: Path, *, size: int = 16) -> Path:
    """An NHWC-input model: (B, H, W, 3) → mean over H, W → (B, 3)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("ReduceMean", ["image", "axes"], ["embedding"], keepdims=0)]
    graph = helper.make_graph(
        nodes,
        "nhwc_embedder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", size, size, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 3])],
        initializer=[numpy_helper.from_array(np.array([1, 2], np.int64), "axes")],
    )
    return _save(graph, path)
