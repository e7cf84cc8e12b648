"""ONNX re-ID / foundation-model embedders (OSNet, MegaDescriptor, CLIP, DINOv2 exports) run by ``onnxruntime``.

    emb = OnnxEmbedder(model_name="megadescriptor-t-224", preset="megadescriptor")   # from SIGHTINGS_MODELS_DIR
    emb = OnnxEmbedder("dinov2_vits14.onnx", preset="dinov2", pooling="mean")       # or a file
    vectors = emb.embed(crops)          # (n, emb.dim) float32, L2-normalised

The model is imported once with ``sightings models import FILE.onnx --name NAME --task embed`` (nothing is
downloaded at run time). Preprocessing: RGB (or BGR) → resize to the input size (``stretch``, or ``crop``: short
side to size then a centre crop) → [0, 1] → ``(x - mean) / std`` → NCHW (or NHWC) float32/float16. Output
pooling: ``none`` for (B, D) vectors, ``cls`` (token 0) or ``mean`` (tokens after ``prefix_tokens``) for (B, T, D)
token outputs, ``gap`` (global average pooling) for (B, C, H, W) feature maps; ``auto`` picks by rank. Rows are
L2-normalised.

Presets (each option can still be overridden):

| preset | input (H×W) | mean / std | resize | pooling | output preferred |
|---|---|---|---|---|---|
| ``osnet`` | 256×128 | ImageNet | stretch | auto (B, 512) | first |
| ``megadescriptor`` | 224×224 (384 for -L-384) | ImageNet | stretch | auto | first |
| ``clip`` | 224×224 | CLIP | crop | auto | ``image_embeds`` |
| ``dinov2`` | 224×224 (518; ×14) | ImageNet | stretch | cls, or mean | ``pooler_output``, then tokens |
| ``generic`` | from the model, else 224 | ImageNet | stretch | auto | first |

Order of precedence for each setting: explicit argument > preset > the model's manifest (``--width``, ``--mean``
... given at import) > the model's static input shape > the generic default; a static input shape always binds
(an ``input_size`` that contradicts it is an :class:`InputError`).

Bad input: a model whose input is not rank 4 with 3 channels → :class:`InputError` at load, naming the model file;
a missing model → :class:`NotFoundError` with a ``sightings models import`` hint.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sightings.core.errors import ConfigError, InputError, NotFoundError
from sightings.vision.embed.image_input import check_image, to_rgb

__all__ = ["NORMALISATIONS", "PRESETS", "OnnxEmbedder", "OnnxPreset", "Pooling", "pool_output"]

log = logging.getLogger(__name__)

Pooling = Literal["auto", "cls", "mean", "gap", "none"]
Resize = Literal["stretch", "crop"]
_POOLINGS = ("auto", "cls", "mean", "gap", "none")
_MIN_SIDE = 4
_IMPORT_HINT = "run `sightings models import MODEL.onnx --name NAME --task embed`"

#: (mean, std) per channel on the [0, 1] scale.
NORMALISATIONS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "clip": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    "unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),  # [0, 1]
    "symmetric": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),  # [-1, 1]
}


@dataclass(frozen=True, slots=True)
class OnnxPreset:
    """Defaults for one family of exported models."""

    name: str
    input_hw: tuple[int, int] | None  # None: from the model, else 224×224
    normalisation: str = "imagenet"
    resize: Resize = "stretch"
    pooling: Pooling = "auto"
    prefix_tokens: int = 0  # tokens before the patch tokens (CLS, registers) skipped by mean pooling
    outputs: tuple[str, ...] = ()  # preferred output names, first present wins (else output 0)
    patch: int = 1  # input sides must be a multiple of this


PRESETS: dict[str, OnnxPreset] = {
    "generic": OnnxPreset("generic", None),
    "osnet": OnnxPreset("osnet", (256, 128)),
    "megadescriptor": OnnxPreset("megadescriptor", (224, 224)),
    "clip": OnnxPreset("clip", (224, 224), normalisation="clip", resize="crop", outputs=("image_embeds",)),
    "dinov2": OnnxPreset(
        "dinov2", (224, 224), pooling="cls", prefix_tokens=1, outputs=("pooler_output", "last_hidden_state"), patch=14
    ),
}


def pool_output(output: npt.NDArray[Any], pooling: Pooling, prefix_tokens: int = 0) -> npt.NDArray[np.float32]:
    """Reduce a model output to one row per image: (B, D), (B, T, D) tokens or (B, C, H, W) maps → (B, D)."""
    out = np.asarray(output, np.float32)
    if pooling == "auto":
        pooling = {2: "none", 3: "cls", 4: "gap"}.get(out.ndim, "none")  # type: ignore[assignment]
    if pooling == "none":
        return out.reshape(out.shape[0], -1)
    if pooling == "cls":
        if out.ndim != 3:
            raise ConfigError(f"pooling 'cls' needs a (B, T, D) token output, got shape {out.shape}", where="pooling")
        return out[:, 0]
    if pooling == "mean" and out.ndim == 3:
        if out.shape[1] <= prefix_tokens:
            raise ConfigError(f"{out.shape[1]} tokens, {prefix_tokens} prefix tokens: nothing to pool", where="pooling")
        return np.asarray(out[:, prefix_tokens:].mean(axis=1), np.float32)
    if pooling in ("gap", "mean") and out.ndim == 4:
        return np.asarray(out.mean(axis=(2, 3)), np.float32)
    raise ConfigError(f"pooling {pooling!r} does not fit an output of shape {out.shape}", where="pooling")


def _dim(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _default_models_dir() -> Path:
    from sightings.core.config import get_settings

    return get_settings().models_path


class OnnxEmbedder:
    """An ONNX image-embedding model → L2-normalised float32 rows (batch inference).

    Args:
        model_path: the ``.onnx`` file; default: ``model_name`` (or the only ONNX ``embed`` model) in ``models_dir``.
        models_dir: the models directory (default: ``Settings.models_path``, i.e. ``SIGHTINGS_MODELS_DIR``).
        model_name: the model's folder name in ``models_dir``.
        preset: ``generic`` | ``osnet`` | ``megadescriptor`` | ``clip`` | ``dinov2`` (see the module docs).
        input_size: ``S`` or ``(height, width)``; default: the model's static input, else preset/manifest/224.
        normalisation: ``imagenet`` | ``clip`` | ``unit`` | ``symmetric`` (``mean``/``std`` override it).
        mean: per-channel mean on the [0, 1] scale (RGB order).
        std: per-channel std on the [0, 1] scale.
        colour_order: ``RGB`` or ``BGR`` channel order the model expects.
        resize: ``stretch`` or ``crop`` (short side to size, then a centre crop).
        pooling: ``auto`` | ``cls`` | ``mean`` | ``gap`` | ``none``.
        prefix_tokens: tokens skipped by ``mean`` pooling (1 for a CLS token; 5 for DINOv2 with 4 registers).
        output_name: the output to read (default: the preset's preferred name, else output 0).
        providers: onnxruntime execution providers (default: CUDA then CPU where CUDA is available, else CPU).
        num_threads: CPU threads per inference (``None``: onnxruntime's default).
        batch_size: images per inference when the model's batch dimension is dynamic.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        models_dir: str | os.PathLike[str] | None = None,
        model_name: str | None = None,
        preset: str = "generic",
        input_size: int | Sequence[int] | None = None,
        normalisation: str | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        colour_order: str | None = None,
        resize: Resize | None = None,
        pooling: Pooling | None = None,
        prefix_tokens: int | None = None,
        output_name: str | None = None,
        providers: Sequence[str] | None = None,
        num_threads: int | None = None,
        batch_size: int = 16,
    ) -> None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})", where="preset")
        if batch_size < 1:
            raise ConfigError(f"must be >= 1, got {batch_size}", where="batch_size")
        self.preset = PRESETS[preset]
        self.batch_size = int(batch_size)
        manifest_input: Any = None
        if model_path is not None:
            self.model_path = Path(model_path).expanduser()
            if not self.model_path.is_file():
                raise NotFoundError("ONNX model file not found", where=self.model_path, hint=_IMPORT_HINT)
        else:
            root = Path(models_dir).expanduser() if models_dir is not None else _default_models_dir()
            self.model_path, manifest_input = self._from_store(root, model_name)

        self._session = self._open(providers, num_threads)
        self.providers: list[str] = list(self._session.get_providers())
        inp = self._session.get_inputs()[0]
        if inp.type not in ("tensor(float)", "tensor(float16)"):
            raise InputError(f"expected a float image input, got {inp.type}", where=self.model_path)
        self._input_name: str = inp.name
        self._input_dtype: type[np.floating[Any]] = np.float16 if inp.type == "tensor(float16)" else np.float32
        shape = list(inp.shape)
        self.layout = self._layout(shape, manifest_input)
        self.input_hw = self._input_hw(shape, input_size, manifest_input)
        self._fixed_batch = _dim(shape[0])

        norm_name = normalisation or self.preset.normalisation
        if norm_name not in NORMALISATIONS:
            raise ConfigError(
                f"unknown normalisation {norm_name!r} (known: {', '.join(NORMALISATIONS)})", where="normalisation"
            )
        base_mean, base_std = NORMALISATIONS[norm_name]
        if normalisation is None and manifest_input is not None and manifest_input.mean and manifest_input.std:
            base_mean = tuple(v / 255.0 for v in manifest_input.mean)  # the manifest is on the 0-255 scale
            base_std = tuple(v / 255.0 for v in manifest_input.std)
        self.mean = self._triple(mean if mean is not None else base_mean, "mean")
        self.std = self._triple(std if std is not None else base_std, "std")
        if min(self.std) <= 0:
            raise ConfigError(f"std must be > 0, got {self.std}", where="std")
        order = (colour_order or (manifest_input.colour_order if manifest_input is not None else "RGB")).upper()
        if order not in ("RGB", "BGR"):
            raise ConfigError(f"colour_order must be RGB or BGR, got {order!r}", where="colour_order")
        self.colour_order = order
        self.resize: Resize = resize or self.preset.resize
        if self.resize not in ("stretch", "crop"):
            raise ConfigError(f"resize must be stretch or crop, got {self.resize!r}", where="resize")
        if pooling is not None and pooling not in _POOLINGS:
            raise ConfigError(f"unknown pooling {pooling!r} (known: {', '.join(_POOLINGS)})", where="pooling")
        self.prefix_tokens = self.preset.prefix_tokens if prefix_tokens is None else int(prefix_tokens)
        self.output_name = self._choose_output(output_name)
        raw = self._run_raw(np.zeros((self._fixed_batch or 1, *self._tensor_shape()), self._input_dtype))
        # An explicit pooling always applies; a preset's pooling applies to token outputs, "auto" to the rest.
        self.pooling: Pooling = pooling or (self.preset.pooling if np.ndim(raw) == 3 else "auto")
        self.dim = int(pool_output(raw, self.pooling, self.prefix_tokens).shape[1])

    def __repr__(self) -> str:
        return (
            f"OnnxEmbedder({str(self.model_path)!r}, preset={self.preset.name!r}, input_hw={self.input_hw}, "
            f"pooling={self.pooling!r}, output={self.output_name!r}, dim={self.dim})"
        )

    # -- set-up --------------------------------------------------------------------------------------------
    @staticmethod
    def _from_store(root: Path, name: str | None) -> tuple[Path, Any]:
        from sightings.models.store import ModelStore

        store = ModelStore(root)
        if name is None:
            embedders = [m.name for m in store.list() if m.format == "onnx" and m.task == "embed"]
            if not embedders:
                raise NotFoundError("no ONNX embedding model is installed", where=root, hint=_IMPORT_HINT)
            if len(embedders) > 1:
                raise ConfigError(
                    f"several ONNX embedding models are installed ({', '.join(embedders)}); choose one with model_name",
                    where="embedder.options.model_name",
                )
            name = embedders[0]
        manifest = store.require_verified(name)
        if manifest.format != "onnx":
            raise InputError(f"model {name!r} is {manifest.format}, not ONNX", where=store.path(name))
        return store.path(name), manifest.input

    def _open(self, providers: Sequence[str] | None, num_threads: int | None) -> Any:
        from sightings.models.onnx_session import open_onnx_session

        return open_onnx_session(
            self.model_path, providers=providers, num_threads=num_threads, where="embedder.onnx", extra="identity"
        )

    def _layout(self, shape: list[Any], manifest_input: Any) -> str:
        expected = "(batch, 3, height, width) or (batch, height, width, 3)"
        if len(shape) != 4:
            raise InputError(f"expected an image input {expected}, got shape {tuple(shape)}", where=self.model_path)
        c_first, c_last = _dim(shape[1]), _dim(shape[3])
        if c_first == 3:
            return "NCHW"
        if c_last == 3:
            return "NHWC"
        if c_first is None and c_last is None:
            return str(manifest_input.layout) if manifest_input is not None else "NCHW"
        raise InputError(f"expected 3 colour channels {expected}, got shape {tuple(shape)}", where=self.model_path)

    def _input_hw(
        self, shape: list[Any], input_size: int | Sequence[int] | None, manifest_input: Any
    ) -> tuple[int, int]:
        spatial = shape[2:4] if self.layout == "NCHW" else shape[1:3]
        fixed = (_dim(spatial[0]), _dim(spatial[1]))
        if input_size is not None:
            sizes = (input_size, input_size) if isinstance(input_size, int) else tuple(int(v) for v in input_size)
            if len(sizes) != 2 or min(sizes) < 1:
                raise ConfigError(
                    f"input_size must be S or (height, width) > 0, got {input_size!r}", where="input_size"
                )
            wanted: tuple[int, int] = (int(sizes[0]), int(sizes[1]))
            for got, static in zip(wanted, fixed, strict=True):
                if static is not None and got != static:
                    raise InputError(
                        f"input_size {wanted} does not fit the model's fixed input {tuple(shape)}",
                        where=self.model_path,
                    )
        elif fixed[0] is not None and fixed[1] is not None:
            wanted = (fixed[0], fixed[1])
        else:
            from_manifest = (
                (manifest_input.height, manifest_input.width)
                if manifest_input is not None and manifest_input.height and manifest_input.width
                else None
            )
            default = self.preset.input_hw or from_manifest or (224, 224)
            wanted = (fixed[0] or default[0], fixed[1] or default[1])
        patch = self.preset.patch
        if wanted[0] % patch or wanted[1] % patch:
            raise ConfigError(f"input size {wanted} must be a multiple of the patch size {patch}", where="input_size")
        return wanted

    @staticmethod
    def _triple(values: Sequence[float], where: str) -> tuple[float, float, float]:
        vals = tuple(float(v) for v in values)
        if len(vals) != 3:
            raise ConfigError(f"need 3 values (one per channel), got {values!r}", where=where)
        return (vals[0], vals[1], vals[2])

    def _choose_output(self, output_name: str | None) -> str:
        names = [o.name for o in self._session.get_outputs()]
        if output_name is not None:
            if output_name not in names:
                raise ConfigError(
                    f"model has no output {output_name!r} (outputs: {', '.join(names)})", where="output_name"
                )
            return output_name
        preferred = [n for n in self.preset.outputs if n in names]
        return preferred[0] if preferred else names[0]

    def _tensor_shape(self) -> tuple[int, int, int]:
        h, w = self.input_hw
        return (3, h, w) if self.layout == "NCHW" else (h, w, 3)

    # -- inference -----------------------------------------------------------------------------------------
    def preprocess(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.floating[Any]]:
        """The input tensor for ``images`` (resized, normalised, in the model's layout and dtype)."""
        import cv2

        h, w = self.input_hw
        batch = np.empty((len(images), h, w, 3), np.float32)
        mean = np.asarray(self.mean, np.float32)
        std = np.asarray(self.std, np.float32)
        for i, image in enumerate(images):
            rgb = to_rgb(check_image(image, f"OnnxEmbedder image {i}"))
            if min(rgb.shape[:2]) < _MIN_SIDE:
                raise InputError(
                    f"image {i} is {rgb.shape[1]}×{rgb.shape[0]}, below the {_MIN_SIDE}×{_MIN_SIDE} minimum",
                    where="OnnxEmbedder",
                )
            if self.resize == "crop":
                scale = max(h / rgb.shape[0], w / rgb.shape[1])
                rh, rw = max(h, round(rgb.shape[0] * scale)), max(w, round(rgb.shape[1] * scale))
                resized = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
                y0, x0 = (rh - h) // 2, (rw - w) // 2
                resized = resized[y0 : y0 + h, x0 : x0 + w]
            else:
                scale = min(h / rgb.shape[0], w / rgb.shape[1])
                resized = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            batch[i] = (resized.astype(np.float32) / 255.0 - mean) / std
        if self.colour_order == "BGR":
            batch = batch[..., ::-1]
        if self.layout == "NCHW":
            batch = batch.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(batch, self._input_dtype)

    def _run_raw(self, tensor: npt.NDArray[Any]) -> npt.NDArray[Any]:
        try:
            (raw,) = self._session.run([self.output_name], {self._input_name: tensor})
        except Exception as exc:  # onnxruntime's own exception types
            raise InputError(f"inference failed: {str(exc).strip()[:300]}", where=self.model_path) from exc
        return np.asarray(raw)

    def _run(self, tensor: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        return pool_output(self._run_raw(tensor), self.pooling, self.prefix_tokens)

    def embed(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        """One L2-normalised row per image, in batches."""
        out = np.zeros((len(images), self.dim), np.float32)
        step = self._fixed_batch or self.batch_size
        for start in range(0, len(images), step):
            chunk = list(images[start : start + step])
            tensor = self.preprocess(chunk)
            if self._fixed_batch is not None and len(chunk) < self._fixed_batch:
                pad = np.zeros((self._fixed_batch - len(chunk), *tensor.shape[1:]), tensor.dtype)
                tensor = np.concatenate([tensor, pad])
            vectors = self._run(tensor)[: len(chunk)]
            if vectors.shape[1] != self.dim:
                raise InputError(f"output size changed from {self.dim} to {vectors.shape[1]}", where=self.model_path)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            out[start : start + len(chunk)] = vectors / np.maximum(norms, 1e-12)
        return out
