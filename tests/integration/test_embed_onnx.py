"""ONNX embedder on tiny models generated with onnx.helper: layouts, presets, pooling, the models store, bad models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import ConfigError, InputError, NotFoundError

pytest.importorskip("onnx", reason="generating the test models needs the onnx package (dev extra)")
pytest.importorskip("onnxruntime")
pytest.importorskip("cv2")

from embed_factories import make_conv_model, make_nhwc_model, make_token_model
from sightings.vision.embed.onnx_embedder import NORMALISATIONS, OnnxEmbedder, pool_output

RNG = np.random.default_rng(0)
IMAGES = [RNG.integers(0, 255, (40, 50, 3), dtype=np.uint8) for _ in range(5)]


def test_conv_feature_map_is_average_pooled_and_normalised(tmp_path: Path) -> None:
    emb = OnnxEmbedder(make_conv_model(tmp_path / "conv.onnx"))
    assert emb.input_hw == (32, 32) and emb.layout == "NCHW" and emb.dim == 8
    vecs = emb.embed(IMAGES)
    assert vecs.shape == (5, 8) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(emb.embed(IMAGES[2:3])[0], vecs[2], rtol=1e-5, atol=1e-6)


def test_gap_inside_the_model_equals_gap_by_the_embedder(tmp_path: Path) -> None:
    outside = OnnxEmbedder(make_conv_model(tmp_path / "a.onnx"), batch_size=2).embed(IMAGES)
    inside = OnnxEmbedder(make_conv_model(tmp_path / "b.onnx", gap_inside=True)).embed(IMAGES)
    np.testing.assert_allclose(inside, outside, rtol=1e-4, atol=1e-5)


def test_dynamic_input_takes_the_preset_size_and_a_static_one_binds(tmp_path: Path) -> None:
    dynamic = make_conv_model(tmp_path / "dyn.onnx", size=None)
    assert OnnxEmbedder(dynamic, preset="osnet").input_hw == (256, 128)
    assert OnnxEmbedder(dynamic, input_size=(64, 48)).input_hw == (64, 48)
    assert OnnxEmbedder(dynamic).input_hw == (224, 224)
    static = make_conv_model(tmp_path / "static.onnx", size=32)
    assert OnnxEmbedder(static, preset="osnet").input_hw == (32, 32)
    with pytest.raises(InputError, match=r"static\.onnx"):
        OnnxEmbedder(static, input_size=64)
    with pytest.raises(ConfigError, match="patch"):
        OnnxEmbedder(dynamic, preset="dinov2", input_size=30)


def test_token_outputs_dinov2_preset(tmp_path: Path) -> None:
    model = make_token_model(tmp_path / "vit.onnx", with_pooler=True)
    pooled = OnnxEmbedder(model, preset="dinov2")
    assert pooled.output_name == "pooler_output" and pooled.pooling == "auto" and pooled.dim == 6
    cls = OnnxEmbedder(model, preset="dinov2", output_name="last_hidden_state")
    assert cls.pooling == "cls"
    mean = OnnxEmbedder(model, preset="dinov2", output_name="last_hidden_state", pooling="mean")
    assert mean.prefix_tokens == 1
    # the stub's CLS token is the mean of its patch tokens and its pooler is 2 × CLS: all three agree once normalised
    a, b, c = pooled.embed(IMAGES), cls.embed(IMAGES), mean.embed(IMAGES)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b, c, rtol=1e-4, atol=1e-5)
    plain = OnnxEmbedder(make_token_model(tmp_path / "vit2.onnx"))
    assert plain.output_name == "last_hidden_state" and plain.pooling == "auto" and plain.dim == 6


def test_pool_output_variants() -> None:
    tokens = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(pool_output(tokens, "cls"), tokens[:, 0])
    np.testing.assert_array_equal(pool_output(tokens, "auto"), tokens[:, 0])
    np.testing.assert_allclose(pool_output(tokens, "mean", prefix_tokens=1), tokens[:, 1:].mean(axis=1))
    np.testing.assert_allclose(pool_output(tokens, "mean"), tokens.mean(axis=1))
    maps = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    np.testing.assert_allclose(pool_output(maps, "gap"), maps.mean(axis=(2, 3)))
    np.testing.assert_allclose(pool_output(maps, "auto"), maps.mean(axis=(2, 3)))
    assert pool_output(maps, "none").shape == (2, 12)
    with pytest.raises(ConfigError):
        pool_output(np.zeros((2, 5), np.float32), "cls")
    with pytest.raises(ConfigError):
        pool_output(tokens, "mean", prefix_tokens=3)


def test_nhwc_layout_normalisation_and_bgr(tmp_path: Path) -> None:
    model = make_nhwc_model(tmp_path / "nhwc.onnx")
    colour = np.zeros((20, 20, 3), np.uint8)
    colour[:] = (200, 100, 50)
    rgb = OnnxEmbedder(model, normalisation="unit")
    assert rgb.layout == "NHWC" and rgb.input_hw == (16, 16)
    expected = np.array([200, 100, 50], np.float32) / 255
    np.testing.assert_allclose(rgb.embed([colour])[0], expected / np.linalg.norm(expected), rtol=1e-5)
    bgr = OnnxEmbedder(model, normalisation="unit", colour_order="BGR")
    np.testing.assert_allclose(bgr.embed([colour])[0], expected[::-1] / np.linalg.norm(expected), rtol=1e-5)
    custom = OnnxEmbedder(model, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    shifted = expected * 2 - 1
    np.testing.assert_allclose(custom.embed([colour])[0], shifted / np.linalg.norm(shifted), rtol=1e-4)


def test_clip_preset(tmp_path: Path) -> None:
    emb = OnnxEmbedder(make_conv_model(tmp_path / "clip.onnx", size=None, gap_inside=True), preset="clip")
    assert emb.input_hw == (224, 224) and emb.resize == "crop" and emb.output_name == "embedding"
    assert (emb.mean, emb.std) == NORMALISATIONS["clip"]
    assert emb.embed([np.zeros((300, 100, 3), np.uint8)]).shape == (1, 8)


def test_fixed_batch_model_runs_in_padded_chunks(tmp_path: Path) -> None:
    emb = OnnxEmbedder(make_conv_model(tmp_path / "b2.onnx", batch=2, gap_inside=True))
    free = OnnxEmbedder(make_conv_model(tmp_path / "bn.onnx", gap_inside=True))
    np.testing.assert_allclose(emb.embed(IMAGES), free.embed(IMAGES), rtol=1e-4, atol=1e-6)


def test_model_from_the_models_dir_uses_its_manifest(tmp_path: Path) -> None:
    from sightings.models.store import ModelInput, ModelStore

    store = ModelStore(tmp_path / "models")
    with pytest.raises(NotFoundError, match="sightings models import"):
        OnnxEmbedder(models_dir=store.root)
    model = make_conv_model(tmp_path / "reid.onnx", size=None, gap_inside=True)
    store.import_file(
        model,
        "tiny-reid",
        task="embed",
        input=ModelInput(width=48, height=96, layout="NCHW", mean=(127.5,) * 3, std=(127.5,) * 3),
    )
    emb = OnnxEmbedder(models_dir=store.root)
    assert emb.input_hw == (96, 48) and emb.mean == (0.5, 0.5, 0.5) and emb.std == (0.5, 0.5, 0.5)
    assert OnnxEmbedder(models_dir=store.root, model_name="tiny-reid").embed(IMAGES[:2]).shape == (2, 8)
    with pytest.raises(NotFoundError):
        OnnxEmbedder(models_dir=store.root, model_name="nope")


def test_missing_file_is_not_found_with_an_import_hint(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="sightings models import"):
        OnnxEmbedder(tmp_path / "absent.onnx")


@pytest.mark.parametrize(
    ("options", "match"),
    [({"rank": 3}, "expected an image input"), ({"in_channels": 5}, "3 colour channels")],
    ids=["rank-3", "5-channels"],
)
def test_wrong_input_rank_or_channels_is_an_input_error_naming_the_file(
    tmp_path: Path, options: dict[str, int], match: str
) -> None:
    from onnx import TensorProto, helper

    if options.get("rank") == 3:
        graph = helper.make_graph(
            [helper.make_node("ReduceMean", ["image"], ["embedding"], axes=[2], keepdims=0)],
            "rank3",
            [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 32])],
            [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 3])],
        )
        import onnx

        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        path = tmp_path / "bad_rank.onnx"
        onnx.save(model, str(path))
    else:
        path = make_conv_model(tmp_path / "bad_rank.onnx", in_channels=5)
    with pytest.raises(InputError, match=match) as info:
        OnnxEmbedder(path)
    assert "bad_rank.onnx" in str(info.value)


def test_not_an_onnx_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(InputError, match=r"junk\.onnx"):
        OnnxEmbedder(path)


@pytest.mark.parametrize(
    "options",
    [{"preset": "resnet"}, {"pooling": "max"}, {"output_name": "logits"}, {"normalisation": "zscore"},
     {"colour_order": "GBR"}, {"std": (0, 1, 1)}, {"mean": (0.5, 0.5)}, {"batch_size": 0}],
)  # fmt: skip
def test_bad_options_are_config_errors(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        OnnxEmbedder(make_conv_model(tmp_path / "m.onnx"), **options)  # type: ignore[arg-type]


def test_bad_images_are_input_errors(tmp_path: Path) -> None:
    emb = OnnxEmbedder(make_conv_model(tmp_path / "m.onnx"))
    with pytest.raises(InputError):
        emb.embed([np.zeros((2, 2, 3), np.uint8)])
    with pytest.raises(InputError):
        emb.embed([np.zeros((20, 20, 3), np.float32)])  # type: ignore[list-item]
