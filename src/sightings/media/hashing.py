"""Perceptual image hashes and near-duplicate grouping.

    image_hash(path_or_array, method="phash", hash_size=8)       -> imagehash.ImageHash
    find_near_duplicates(folder_or_paths, max_distance=8, ...)  -> DedupResult(groups, unreadable, n_images, ...)

Hashes come from the ``imagehash`` package (pHash by default; dHash, aHash and wavelet hash on request).
Grouping packs every hash into ``uint64`` words and compares all pairs with a vectorised XOR + popcount
in blocks (10,000 images → 50 M pairs in about a second), then joins pairs within ``max_distance``
bits with union-find. Groups are transitive: A~B and B~C put A, B and C together even when A and C are
further apart. ``imagehash`` and Pillow are imported on first use only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError, NotFoundError, SightingsError
from sightings.media.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageSource, list_image_files, read_image

if TYPE_CHECKING:
    import imagehash
    from PIL import Image as PILImage

__all__ = [
    "HASH_METHODS",
    "DedupResult",
    "HashMethod",
    "find_near_duplicates",
    "hamming_distances",
    "image_hash",
    "pack_hash",
]

HashMethod = Literal["phash", "dhash", "ahash", "whash"]
HASH_METHODS: tuple[str, ...] = get_args(HashMethod)

#: Images are shrunk on decode to this longer side before hashing (hashes look at 8-64 px anyway).
HASH_DECODE_SIDE = 512

Progress = Callable[[Sequence[Path]], Iterable[Path]]
"""Wraps the list of files being hashed, e.g. ``lambda ps: track_progress(ps, "hashing", total=len(ps))``."""


def _check_method(method: str, hash_size: int) -> None:
    if method not in HASH_METHODS:
        raise InputError(f"unknown hash method {method!r}; choose one of {', '.join(HASH_METHODS)}", where="method")
    if not 2 <= hash_size <= 64:
        raise InputError(f"must be in [2, 64], got {hash_size}", where="hash_size")
    if method == "whash" and hash_size & (hash_size - 1):
        raise InputError(f"whash needs a power of two, got {hash_size}", where="hash_size")


def image_hash(
    img_or_path: ImageSource | npt.NDArray[np.uint8] | PILImage.Image,
    method: str = "phash",
    hash_size: int = 8,
) -> imagehash.ImageHash:
    """The perceptual hash of an image (a path, encoded bytes, an RGB array or a Pillow image).

    ``hash_a - hash_b`` is their Hamming distance in bits (0 = same picture to the hash); ``str(h)``
    is its hex form. Files are decoded through :func:`~sightings.media.images.load_image` (content
    sniffing, EXIF orientation, size limits, same errors), shrunk to at most 512 px on the long side.
    """
    _check_method(method, hash_size)
    return _hash_pil(_to_pil(img_or_path), method, hash_size)


def _to_pil(img: ImageSource | npt.NDArray[np.uint8] | PILImage.Image) -> PILImage.Image:
    from PIL import Image

    if isinstance(img, Image.Image):
        return img
    if isinstance(img, np.ndarray):
        if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)):
            raise InputError(f"expected a uint8 image array (H, W[, 3]), got {img.dtype} {img.shape}", where="image")
        return Image.fromarray(img[..., 0] if img.ndim == 3 and img.shape[2] == 1 else img)
    return Image.fromarray(read_image(img, max_side=HASH_DECODE_SIDE).image)


def _hash_pil(im: PILImage.Image, method: str, hash_size: int) -> imagehash.ImageHash:
    import imagehash

    if method == "phash":
        return imagehash.phash(im, hash_size=hash_size)
    if method == "dhash":
        return imagehash.dhash(im, hash_size=hash_size)
    if method == "ahash":
        return imagehash.average_hash(im, hash_size=hash_size)
    return imagehash.whash(im, hash_size=hash_size)


def pack_hash(h: imagehash.ImageHash) -> npt.NDArray[np.uint64]:
    """The bits of a hash packed into ``uint64`` words (zero-padded), for vectorised comparisons."""
    bits = np.asarray(h.hash, dtype=bool).ravel()
    packed = np.packbits(bits)
    padded = np.zeros(-(-packed.size // 8) * 8, np.uint8)
    padded[: packed.size] = packed
    return padded.view(np.uint64)


_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def _popcount_rows(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Number of set bits over the last axis."""
    if hasattr(np, "bitwise_count"):  # NumPy >= 2.0
        counts = np.bitwise_count(x)
        return np.asarray(counts.sum(axis=-1, dtype=np.int64))
    as_bytes = x.view(np.uint8).reshape(*x.shape[:-1], x.shape[-1] * 8)
    return np.asarray(_BYTE_POPCOUNT[as_bytes].sum(axis=-1, dtype=np.int64))


def hamming_distances(codes: npt.NDArray[np.uint64], query: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Hamming distance (bits) from one packed hash ``query`` (W,) to every row of ``codes`` (N, W)."""
    return _popcount_rows(np.bitwise_xor(codes, query[None, :]))


def _close_pairs(
    codes: npt.NDArray[np.uint64], max_distance: int, mirrored: npt.NDArray[np.uint64] | None
) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    """Index pairs (i < j) within ``max_distance`` bits, block by block to bound memory (~32 MB)."""
    n, words = codes.shape
    block = max(1, 4_000_000 // max(1, n * words))
    for start in range(0, n, block):
        rows = codes[start : start + block]
        rest = codes[start:]
        dist = _popcount_rows(np.bitwise_xor(rows[:, None, :], rest[None, :, :]))
        if mirrored is not None:
            dist = np.minimum(dist, _popcount_rows(np.bitwise_xor(rows[:, None, :], mirrored[None, start:, :])))
        ii, jj = np.nonzero(dist <= max_distance)
        ii = ii + start
        jj = jj + start
        upper = ii < jj
        yield ii[upper], jj[upper]


def _union_find_groups(n: int, pairs: Iterable[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]) -> list[list[int]]:
    parent = list(range(n))

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    for ii, jj in pairs:
        for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(find(i), []).append(i)
    return [m for m in members.values() if len(m) >= 2]


@dataclass(frozen=True, slots=True)
class DedupResult:
    """Near-duplicate groups found by :func:`find_near_duplicates`.

    ``groups`` holds only groups of two or more; in each, the image to keep comes first (largest
    resolution, then largest file, then name) and the rest follow sorted by path; groups are sorted
    by their first path. ``unreadable`` lists files that looked like images but failed to load, with
    the reason; ``skipped`` lists files left out because they are not images by name or content.
    ``n_images`` counts the images hashed; ``sizes`` is each one's (width, height); ``hashes`` its hex hash.
    """

    groups: list[list[Path]]
    unreadable: list[tuple[Path, str]]
    n_images: int
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    sizes: dict[Path, tuple[int, int]] = field(default_factory=dict)
    hashes: dict[Path, str] = field(default_factory=dict)

    @property
    def n_duplicates(self) -> int:
        """Images that could go: every group member except its first."""
        return sum(len(g) - 1 for g in self.groups)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (paths as strings)."""
        return {
            "n_images": self.n_images,
            "n_groups": len(self.groups),
            "n_duplicates": self.n_duplicates,
            "groups": [
                {
                    "keep": str(g[0]),
                    "duplicates": [str(p) for p in g[1:]],
                    "sizes": [list(self.sizes.get(p, (0, 0))) for p in g],
                }
                for g in self.groups
            ],
            "unreadable": [{"path": str(p), "reason": r} for p, r in self.unreadable],
            "skipped": [{"path": str(p), "reason": r} for p, r in self.skipped],
        }


@dataclass(frozen=True, slots=True)
class _Hashed:
    path: Path
    code: npt.NDArray[np.uint64] | None = None
    mirrored: npt.NDArray[np.uint64] | None = None
    hex: str = ""
    size: tuple[int, int] = (0, 0)
    n_bytes: int = 0
    error: str | None = None


def _hash_file(path: Path, *, method: str, hash_size: int, mirror: bool, max_bytes: int, max_pixels: int) -> _Hashed:
    from PIL import Image, ImageOps

    try:
        loaded = read_image(path, max_bytes=max_bytes, max_pixels=max_pixels, max_side=HASH_DECODE_SIDE)
        im = Image.fromarray(loaded.image)
        h = _hash_pil(im, method, hash_size)
        alt = pack_hash(_hash_pil(ImageOps.mirror(im), method, hash_size)) if mirror else None
        n_bytes = path.stat().st_size
    except SightingsError as err:
        return _Hashed(path, error=err.reason)
    except Exception as err:  # a file that breaks a decoder or the hash is reported, never dropped
        return _Hashed(path, error=f"{type(err).__name__}: {err}")
    return _Hashed(path, pack_hash(h), alt, str(h), (loaded.width, loaded.height), n_bytes)


def _collect(
    paths_or_folder: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], recursive: bool
) -> tuple[list[Path], list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Files to hash, files that are missing, files skipped as non-images."""
    if isinstance(paths_or_folder, str | os.PathLike):
        root = Path(paths_or_folder)
        if not root.exists():
            raise NotFoundError("no such file or folder", where=root)
        items: list[Path] = [root]
    else:
        items = [Path(p) for p in paths_or_folder]
    files: list[Path] = []
    missing: list[tuple[Path, str]] = []
    skipped: list[tuple[Path, str]] = []
    for item in items:
        if item.is_dir():
            images, skip = list_image_files(item, recursive=recursive)
            files.extend(images)
            skipped.extend(skip)
        elif item.exists():
            files.append(item)
        else:
            missing.append((item, "no such file"))
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, missing, skipped


def find_near_duplicates(
    paths_or_folder: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    max_distance: int = 8,
    method: str = "phash",
    hash_size: int = 8,
    recursive: bool = False,
    mirror: bool = False,
    workers: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: Progress | None = None,
) -> DedupResult:
    """Group images whose perceptual hashes differ by at most ``max_distance`` bits.

    ``paths_or_folder`` is a folder (its images, found by :func:`~sightings.media.images.list_image_files`;
    sub-folders too with ``recursive``), one file, or a list of files and folders. With ``mirror`` an
    image also matches the left-right mirror of another (flipped duplicates; twice the hashing work).
    Files are decoded on ``workers`` threads (default: up to 4). ``progress`` wraps the list of files
    being hashed, for a progress bar.

    Raises:
        NotFoundError: the folder (or single file) does not exist.
        InputError: the folder cannot be listed, or a bad option (method, hash size, distance).
    """
    _check_method(method, hash_size)
    n_bits = hash_size * hash_size
    if not 0 <= max_distance <= n_bits:
        raise InputError(f"must be in [0, {n_bits}] for a {n_bits}-bit hash, got {max_distance}", where="max_distance")
    files, unreadable, skipped = _collect(paths_or_folder, recursive)
    n_workers = max(1, workers if workers is not None else min(4, os.cpu_count() or 1))

    hashed: list[_Hashed] = []
    pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="sightings-hash")
    try:
        results = pool.map(
            lambda p: _hash_file(
                p, method=method, hash_size=hash_size, mirror=mirror, max_bytes=max_bytes, max_pixels=max_pixels
            ),
            files,
        )
        for _path in progress(files) if progress is not None else files:
            hashed.append(next(results))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl+C, queued files are dropped, running ones end

    ok = [h for h in hashed if h.code is not None and h.error is None]
    unreadable.extend((h.path, h.error or "unreadable") for h in hashed if h.error is not None)
    unreadable.sort(key=lambda item: str(item[0]))

    groups: list[list[Path]] = []
    if len(ok) >= 2:
        codes = np.stack([h.code for h in ok if h.code is not None])
        mirrored = np.stack([h.mirrored for h in ok if h.mirrored is not None]) if mirror else None
        for members in _union_find_groups(len(ok), _close_pairs(codes, max_distance, mirrored)):
            keep = min(members, key=lambda i: (-ok[i].size[0] * ok[i].size[1], -ok[i].n_bytes, str(ok[i].path)))
            rest = sorted((ok[i].path for i in members if i != keep), key=str)
            groups.append([ok[keep].path, *rest])
        groups.sort(key=lambda g: str(g[0]))
    return DedupResult(
        groups=groups,
        unreadable=unreadable,
        n_images=len(ok),
        skipped=skipped,
        sizes={h.path: h.size for h in ok},
        hashes={h.path: h.hex for h in ok},
    )
