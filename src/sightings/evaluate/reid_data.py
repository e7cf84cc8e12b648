"""Re-identification datasets and the seeded query/gallery protocol (see docs/reid-evaluation.md).

    dataset = load_reid_dataset("lions/")          # a folder per identity, or a folder with labels.csv, or a CSV
    split = split_reid(dataset, seed=0)            # calibration part + reported part, each query/gallery/open set
    images = load_reid_images(dataset)             # RGB arrays, in dataset order

A CSV has the columns ``image,identity`` and optionally ``split``; image paths are relative to the CSV's folder.
With a ``split`` column the calibration part is the ``train`` rows and the reported part every other row;
without one, identities are divided by a seeded shuffle. Within each part, identities with at least two images
give queries (a seeded fraction of their images, at least one, never all); a seeded fraction of them are held out
as *open-set* identities (all their images are queries, none is in the gallery, so the right answer is
"unknown"); identities with a single image stay in the gallery as distractors.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError, NotFoundError, SightingsError

__all__ = [
    "CALIBRATION_SPLIT",
    "ReidDataset",
    "ReidProtocol",
    "ReidSample",
    "ReidSplit",
    "load_reid_dataset",
    "load_reid_images",
    "make_protocol",
    "split_protocol",
    "split_reid",
]

#: Rows whose ``split`` column holds this value form the calibration part; all other rows are reported.
CALIBRATION_SPLIT = "train"
LABELS_FILE = "labels.csv"

IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ReidSample:
    """One labelled image: where it is, whose it is, and (from a CSV) its split and line number."""

    path: Path
    identity: str
    split: str | None = None
    where: str = ""  # "file.csv:12" or the image path, for error messages


@dataclass(frozen=True, slots=True)
class ReidDataset:
    """Labelled images of individuals, in a stable order (row i = sample i)."""

    source: Path
    samples: tuple[ReidSample, ...]

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def identities(self) -> npt.NDArray[np.str_]:
        """The identity label of each sample (row i = sample i)."""
        return np.array([s.identity for s in self.samples], dtype=str)

    @property
    def has_split(self) -> bool:
        return any(s.split for s in self.samples)

    def num_identities(self) -> int:
        return len({s.identity for s in self.samples})


@dataclass(frozen=True, slots=True)
class ReidProtocol:
    """Queries and gallery of one part: indices into the dataset's samples."""

    name: str
    query: IndexArray
    gallery: IndexArray
    unknown: npt.NDArray[np.bool_]  # per query: its identity has no image in the gallery (open set)
    open_identities: tuple[str, ...] = ()
    distractor_identities: int = 0  # single-image identities kept in the gallery

    @property
    def num_known(self) -> int:
        return int((~self.unknown).sum())

    @property
    def num_unknown(self) -> int:
        return int(self.unknown.sum())

    def describe(self) -> dict[str, int | str]:
        return {
            "part": self.name,
            "queries": len(self.query),
            "known_queries": self.num_known,
            "unknown_queries": self.num_unknown,
            "gallery": len(self.gallery),
            "open_identities": len(self.open_identities),
            "distractor_identities": self.distractor_identities,
        }


@dataclass(frozen=True, slots=True)
class ReidSplit:
    """The calibration part (fits the calibrator and threshold) and the reported part (gives the numbers)."""

    calibration: ReidProtocol
    report: ReidProtocol
    partition: str  # "split column" or "seeded identities"
    seed: int
    settings: dict[str, float] = field(default_factory=dict)


def load_reid_dataset(path: str | Path) -> ReidDataset:
    """A CSV (``image,identity[,split]``), a folder with ``labels.csv``, or a folder with one sub-folder per identity.

    Raises:
        NotFoundError: ``path`` does not exist.
        InputError: no images, a CSV without the needed columns, or a CSV row naming a missing image.
    """
    source = Path(path)
    if not source.exists():
        raise NotFoundError("no such dataset file or folder", where=source)
    if source.is_file():
        return _load_csv(source)
    if (source / LABELS_FILE).is_file():
        return _load_csv(source / LABELS_FILE)
    return _load_folders(source)


def _load_csv(path: Path) -> ReidDataset:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read CSV: {err}", where=path) from err
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in ("image", "identity") if c not in columns]
    if missing:
        raise InputError(
            f"CSV needs columns image,identity[,split]; missing {', '.join(missing)} "
            f"(found: {', '.join(columns) or 'none'})",
            where=path,
        )
    root = path.parent
    samples: list[ReidSample] = []
    for line, row in enumerate(reader, start=2):
        clean = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        where = f"{path}:{line}"
        image, identity = clean.get("image", ""), clean.get("identity", "")
        if not image and not identity:
            continue  # blank line
        if not image or not identity:
            raise InputError("empty image or identity", where=where)
        image_path = (root / image).resolve() if not Path(image).is_absolute() else Path(image)
        if not image_path.is_file():
            raise InputError(f"image not found: {image}", where=where)
        samples.append(ReidSample(image_path, identity, clean.get("split") or None, where))
    if not samples:
        raise InputError("CSV has no rows", where=path)
    return ReidDataset(path, tuple(samples))


def _load_folders(root: Path) -> ReidDataset:
    from sightings.media.images import list_image_files

    samples: list[ReidSample] = []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        images, _skipped = list_image_files(folder)
        samples.extend(ReidSample(p, folder.name, None, str(p)) for p in images)
    if not samples:
        raise InputError(
            "no images found: expected one sub-folder of images per identity, or a labels.csv (image,identity)",
            where=root,
        )
    return ReidDataset(root, tuple(samples))


def load_reid_images(
    dataset: ReidDataset,
    indices: Sequence[int] | None = None,
    *,
    max_side: int | None = None,
    progress: Callable[[Sequence[int]], Iterable[int]] | None = None,
) -> list[npt.NDArray[np.uint8]]:
    """Decode the images of ``indices`` (default: all) as RGB arrays; an unreadable one names its CSV line."""
    from sightings.media.images import load_image

    chosen: Sequence[int] = list(range(len(dataset))) if indices is None else list(indices)
    out: list[npt.NDArray[np.uint8]] = []
    for i in progress(chosen) if progress else chosen:
        sample = dataset.samples[i]
        try:
            out.append(load_image(sample.path, max_side=max_side))
        except SightingsError as err:
            raise InputError(f"cannot load {sample.path.name}: {err.reason}", where=sample.where) from err
    return out


def make_protocol(
    name: str,
    identities: npt.NDArray[np.str_],
    indices: IndexArray,
    rng: np.random.Generator,
    *,
    query_fraction: float = 0.3,
    open_fraction: float = 0.1,
) -> ReidProtocol:
    """Query/gallery/open-set protocol over the samples ``indices`` (see the module docstring)."""
    by_identity: dict[str, list[int]] = {}
    for i in indices.tolist():
        by_identity.setdefault(str(identities[i]), []).append(int(i))
    eligible = sorted(k for k, v in by_identity.items() if len(v) >= 2)
    singletons = sorted(k for k, v in by_identity.items() if len(v) == 1)
    order = [eligible[j] for j in rng.permutation(len(eligible))]
    n_open = 0
    if open_fraction > 0 and len(order) >= 2:
        n_open = min(len(order) - 1, max(1, round(open_fraction * len(order))))
    open_ids, closed_ids = sorted(order[:n_open]), sorted(order[n_open:])
    query: list[int] = []
    unknown: list[bool] = []
    gallery = [by_identity[k][0] for k in singletons]
    for key in closed_ids:
        members = by_identity[key]
        n_query = min(len(members) - 1, max(1, round(query_fraction * len(members))))
        picked = set(rng.choice(len(members), size=n_query, replace=False).tolist())
        for j, idx in enumerate(members):
            (query if j in picked else gallery).append(idx)
            if j in picked:
                unknown.append(False)
    for key in open_ids:
        query.extend(by_identity[key])
        unknown.extend([True] * len(by_identity[key]))
    return ReidProtocol(
        name=name,
        query=np.asarray(query, np.int64),
        gallery=np.asarray(sorted(gallery), np.int64),
        unknown=np.asarray(unknown, bool),
        open_identities=tuple(open_ids),
        distractor_identities=len(singletons),
    )


def split_reid(
    dataset: ReidDataset,
    *,
    seed: int = 0,
    query_fraction: float = 0.3,
    open_fraction: float = 0.1,
    calibration_fraction: float = 0.5,
) -> ReidSplit:
    """The seeded calibration/report partition and the query/gallery protocol of each part.

    Raises:
        InputError: a fraction out of range, or a part with no query (every identity has a single image).
    """
    for label, value, low_open in (
        ("query_fraction", query_fraction, True),
        ("open_fraction", open_fraction, False),
        ("calibration_fraction", calibration_fraction, True),
    ):
        if not (0.0 < value < 1.0 if low_open else 0.0 <= value < 1.0):
            raise InputError(f"must be in {'(0' if low_open else '[0'}, 1), got {value:g}", where=label)
    identities = dataset.identities
    splits = np.array([s.split or "" for s in dataset.samples], dtype=str)
    calib_mask = splits == CALIBRATION_SPLIT
    if dataset.has_split and calib_mask.any() and (~calib_mask).any():
        partition = "split column"
    else:
        partition = "seeded identities"
        names = sorted(set(identities.tolist()))
        shuffled = [names[j] for j in np.random.default_rng(seed).permutation(len(names))]
        n_calib = min(len(names) - 1, max(1, round(calibration_fraction * len(names))))
        calib_ids = set(shuffled[:n_calib])
        calib_mask = np.array([str(k) in calib_ids for k in identities], bool)
    all_idx = np.arange(len(dataset), dtype=np.int64)
    kw = {"query_fraction": query_fraction, "open_fraction": open_fraction}
    calibration = make_protocol("calibration", identities, all_idx[calib_mask], np.random.default_rng([seed, 1]), **kw)
    report = make_protocol("report", identities, all_idx[~calib_mask], np.random.default_rng([seed, 2]), **kw)
    for part in (report, calibration):
        if part.num_known == 0:
            raise InputError(
                f"no queries possible in the {part.name} part: every identity has a single image "
                "(re-identification needs at least two images of some individuals)",
                where=dataset.source,
            )
    settings = {"query_fraction": query_fraction, "open_fraction": open_fraction}
    if partition == "seeded identities":
        settings["calibration_fraction"] = calibration_fraction
    return ReidSplit(calibration, report, partition, seed, settings)


def split_protocol(
    protocol: ReidProtocol, identities: npt.NDArray[np.str_], groups: int, *, seed: int = 0
) -> list[ReidProtocol]:
    """``protocol`` cut into ``groups`` identity-disjoint episodes (each with its own smaller gallery).

    Used to calibrate on galleries the size of the reported one: how likely the best candidate is right depends
    on how many individuals it competes with. Episodes without a known query are dropped.
    """
    if groups <= 1:
        return [protocol]
    names = sorted(set(identities[protocol.query].tolist()) | set(identities[protocol.gallery].tolist()))
    order = np.random.default_rng([seed, 4]).permutation(len(names))
    group_of = {names[j]: rank % groups for rank, j in enumerate(order)}
    q_group = np.array([group_of[str(identities[i])] for i in protocol.query], np.int64)
    g_group = np.array([group_of[str(identities[i])] for i in protocol.gallery], np.int64)
    episodes: list[ReidProtocol] = []
    for g in range(groups):
        qm, gm = q_group == g, g_group == g
        if not (qm & ~protocol.unknown).any() or not gm.any():
            continue
        episodes.append(
            ReidProtocol(
                name=f"{protocol.name}[{g}]",
                query=protocol.query[qm],
                gallery=protocol.gallery[gm],
                unknown=protocol.unknown[qm],
                open_identities=tuple(k for k in protocol.open_identities if group_of[k] == g),
                distractor_identities=0,
            )
        )
    return episodes or [protocol]
