"""Still images: content-sniffed, size-checked decoding to RGB arrays, EXIF time and place, folder listing.

    load_image(path_or_bytes)   -> RGB uint8 array (H, W, 3), EXIF orientation applied
    read_image(path_or_bytes)   -> LoadedImage (array + detected type + full-resolution size)
    sniff_image_type(data)      -> "jpeg" | "png" | ... | None (by magic bytes, never by extension)
    read_exif(path_or_bytes)    -> ExifInfo (datetime original, GPS lat/lon in degrees, camera)
    list_image_files(folder)    -> (image paths sorted by name, skipped files with a reason)

Supported: JPEG, PNG, WebP, BMP, GIF (first frame), TIFF (first page). HEIF/AVIF/JPEG 2000/JPEG XL/
PSD/ICO/QOI/SVG are recognised and refused with :class:`UnsupportedMediaError`; anything else is a
:class:`MediaError`. Sizes are checked from the header before any pixel is decoded
(:class:`TooLargeError`). Pillow is imported on first use only.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypedDict

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError, MediaError, NotFoundError, TooLargeError, UnsupportedMediaError

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "SUPPORTED_IMAGE_TYPES",
    "ExifInfo",
    "ImageSource",
    "LoadedImage",
    "list_image_files",
    "load_image",
    "read_exif",
    "read_image",
    "sniff_image_type",
]

log = logging.getLogger(__name__)

ImageSource = str | os.PathLike[str] | bytes | bytearray | memoryview
"""A path to an image file, or its encoded bytes."""

DEFAULT_MAX_BYTES = 50_000_000
DEFAULT_MAX_PIXELS = 80_000_000

#: Types :func:`load_image` decodes, as named by :func:`sniff_image_type`.
SUPPORTED_IMAGE_TYPES = frozenset({"jpeg", "png", "webp", "bmp", "gif", "tiff"})

#: File name suffixes taken as images when listing a folder (other files are sniffed by content).
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".dib", ".gif", ".tif", ".tiff"}
)

_PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "bmp": "BMP", "gif": "GIF", "tiff": "TIFF"}
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_SNIFF_BYTES = 1024
_MAGIC: tuple[tuple[str, tuple[bytes, ...]], ...] = (
    ("jpeg", (b"\xff\xd8\xff",)),
    ("png", (b"\x89PNG\r\n\x1a\n",)),
    ("gif", (b"GIF87a", b"GIF89a")),
    ("tiff", (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")),
    ("jpeg2000", (b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")),
    ("jxl", (b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")),
    ("psd", (b"8BPS",)),
    ("qoi", (b"qoif",)),
)


def _is_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text)


_SNIFF_TESTS: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("webp", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"),
    ("bmp", lambda h: h[:2] == b"BM" and len(h) >= 18 and int.from_bytes(h[14:18], "little") in _BMP_HEADER_SIZES),
    ("heif", lambda h: h[4:8] == b"ftyp" and h[8:12] in _HEIF_BRANDS),
    ("avif", lambda h: h[4:8] == b"ftyp" and h[8:12] in _AVIF_BRANDS),
    ("ico", lambda h: h.startswith(b"\x00\x00\x01\x00") and len(h) >= 6 and h[4:6] != b"\x00\x00"),
    ("svg", _is_svg),
)

# Errors Pillow raises for bad data (it has no error class of its own for that).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError, TypeError)


def sniff_image_type(data: bytes | bytearray | memoryview) -> str | None:
    """The image type of encoded ``data`` from its magic bytes, or ``None`` when it is not a known image.

    Returns one of :data:`SUPPORTED_IMAGE_TYPES`, or the name of a recognised but unsupported type
    (``"heif"``, ``"avif"``, ``"jpeg2000"``, ``"jxl"``, ``"psd"``, ``"ico"``, ``"qoi"``, ``"svg"``).
    The first kilobyte is enough.
    """
    head = bytes(data[:_SNIFF_BYTES])
    for kind, prefixes in _MAGIC:
        if head.startswith(prefixes):
            return kind
    return next((kind for kind, test in _SNIFF_TESTS if test(head)), None)


@dataclass(frozen=True, slots=True, eq=False)
class LoadedImage:
    """A decoded image: the RGB array, the detected type, and the full-resolution size (after EXIF rotation)."""

    image: npt.NDArray[np.uint8]
    kind: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def load_image(
    source: ImageSource,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int | None = None,
    where: str | None = None,
) -> npt.NDArray[np.uint8]:
    """Decode an image file (or its bytes) to an RGB ``uint8`` array of shape (height, width, 3).

    The type is found from the content, not the file name; EXIF orientation is applied (a portrait
    photo stored sideways comes back upright); alpha is composited on white; a GIF gives its first
    frame and a TIFF its first page. With ``max_side`` the image is shrunk on decode (JPEG DCT
    scaling, then a high-quality resize) so that its longer side is at most ``max_side`` pixels.

    Raises:
        NotFoundError: the path does not exist.
        MediaError: empty, truncated or corrupt data, or not an image at all.
        UnsupportedMediaError: a recognised image type that is not supported (HEIF, AVIF, ...).
        TooLargeError: more than ``max_bytes`` bytes, or a header claiming more than ``max_pixels``
            pixels (checked before decoding: a decompression bomb is refused, never decoded).
    """
    return read_image(source, max_bytes=max_bytes, max_pixels=max_pixels, max_side=max_side, where=where).image


def read_image(
    source: ImageSource,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int | None = None,
    where: str | None = None,
) -> LoadedImage:
    """Like :func:`load_image`, also returning the detected type and the full-resolution size."""
    from PIL import Image, ImageOps

    if max_side is not None and max_side < 1:
        raise InputError("must be >= 1", where="max_side")
    data, label = _read_bytes(source, max_bytes=max_bytes, where=where)
    im, kind = _open_checked(io.BytesIO(data), data[:_SNIFF_BYTES], label, max_pixels)
    try:
        orientation = _orientation(im)
        width, height = im.size
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        if max_side is not None and kind == "jpeg" and max(im.size) > max_side:
            im.draft("RGB", (max_side, max_side))
        im.load()
        if orientation in range(2, 9):
            im = ImageOps.exif_transpose(im)
        if max_side is not None and max(im.size) > max_side:
            im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        array = _to_rgb_array(im)
    except Image.DecompressionBombError as err:
        raise TooLargeError(f"image too large to decode safely: {err}", where=label) from err
    except _DECODE_ERRORS as err:
        raise MediaError(f"corrupt or truncated {kind} image: {err}", where=label) from err
    return LoadedImage(image=array, kind=kind, width=width, height=height)


def _read_bytes(source: ImageSource, *, max_bytes: int, where: str | None) -> tuple[bytes, str]:
    """The encoded bytes of ``source`` and the label to name it by in errors."""
    if isinstance(source, bytes | bytearray | memoryview):
        label = where or "<bytes>"
        data = bytes(source)
        if len(data) > max_bytes:
            raise TooLargeError(f"{len(data)} bytes is over the limit of {max_bytes}", where=label)
    else:
        path = Path(source)
        label = where or str(path)
        try:
            size = path.stat().st_size
            if path.is_dir():
                raise InputError("is a folder, not an image file", where=label)
            if size > max_bytes:
                raise TooLargeError(f"{size} bytes is over the limit of {max_bytes}", where=label)
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1)
        except FileNotFoundError as err:
            raise NotFoundError("no such file", where=label) from err
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror or err}", where=label) from err
        if len(data) > max_bytes:  # the file grew while we looked at it
            raise TooLargeError(f"over the limit of {max_bytes} bytes", where=label)
    if not data:
        raise MediaError("empty file", where=label)
    return data, label


def _open_checked(fp: BinaryIO, head: bytes, label: str, max_pixels: int) -> tuple[PILImage.Image, str]:
    """Open ``fp`` (header only) as the type sniffed from ``head``; refuse unsupported types and oversize headers."""
    from PIL import Image, UnidentifiedImageError

    kind = sniff_image_type(head)
    if kind is None:
        raise MediaError("not an image (unrecognised content)", where=label)
    if kind not in SUPPORTED_IMAGE_TYPES:
        supported = ", ".join(sorted(SUPPORTED_IMAGE_TYPES))
        raise UnsupportedMediaError(f"{kind} images are not supported (supported: {supported})", where=label)
    try:
        im = Image.open(fp, formats=[_PIL_FORMAT[kind]])
    except Image.DecompressionBombError as err:
        raise TooLargeError(f"image too large to decode safely: {err}", where=label) from err
    except UnidentifiedImageError as err:  # Pillow's words name its file object ("<_io.BytesIO object at 0x…>")
        raise MediaError(f"corrupt {kind} image: its header cannot be read", where=label) from err
    except _DECODE_ERRORS as err:
        raise MediaError(f"corrupt {kind} image: {err}", where=label) from err
    width, height = im.size
    if width <= 0 or height <= 0:
        im.close()
        raise MediaError(f"invalid image size {width}x{height}", where=label)
    if width * height > max_pixels:
        im.close()
        raise TooLargeError(
            f"{width}x{height} = {width * height} pixels is over the limit of {max_pixels}", where=label
        )
    return im, kind


def _orientation(im: PILImage.Image) -> int:
    """EXIF orientation (1..8), 1 when absent or unreadable."""
    try:
        value = im.getexif().get(0x0112, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except _DECODE_ERRORS:
        log.debug("unreadable EXIF orientation ignored", exc_info=True)
        return 1


def _to_rgb_array(im: PILImage.Image) -> npt.NDArray[np.uint8]:
    """Any Pillow mode → contiguous RGB uint8 (alpha composited on white, high bit depths scaled)."""
    from PIL import Image

    mode = im.mode
    if mode == "RGB":
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        raw = np.asarray(im, dtype=np.float64)
        if mode == "F" and raw.size and float(np.nanmax(raw)) <= 1.0:
            raw = raw * 255.0
        elif mode != "F":
            raw = raw / 257.0
        gray = np.clip(np.nan_to_num(raw), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
    has_alpha = mode in ("RGBA", "LA", "La", "RGBa", "PA") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


# --------------------------------------------------------------------------------------------- EXIF


class ExifInfo(TypedDict, total=False):
    """What :func:`read_exif` found; a key is absent when the file does not say.

    ``datetime_original`` is timezone-aware UTC when the file records an offset (EXIF 2.31
    ``OffsetTimeOriginal``); otherwise it is the camera's naive local clock and ``datetime_naive`` is
    True. ``gps_datetime`` (from the GPS date and time stamps) is always UTC. ``lat``/``lon`` are
    signed degrees (south and west negative), ``altitude_m`` metres above sea level.
    """

    datetime_original: datetime
    datetime_naive: bool
    gps_datetime: datetime
    lat: float
    lon: float
    altitude_m: float
    orientation: int
    make: str
    model: str


# Tag numbers (EXIF 2.32).
_IFD_EXIF = 0x8769
_IFD_GPS = 0x8825
_TAG_ORIENTATION = 0x0112
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_DATETIME = 0x0132
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_DATETIME_DIGITIZED = 0x9004
_TAG_OFFSET_TIME = 0x9010
_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_TAG_OFFSET_TIME_DIGITIZED = 0x9012
_TAG_SUBSEC_ORIGINAL = 0x9291
_TAG_SUBSEC_DIGITIZED = 0x9292
_TAG_SUBSEC = 0x9290

_DATETIME_RE = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")


def read_exif(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS, where: str | None = None) -> ExifInfo:
    """Time, place and camera from an image's EXIF, without decoding pixels.

    The date is ``DateTimeOriginal`` (falling back to ``DateTimeDigitized``, then ``DateTime``) with
    its sub-seconds and offset; GPS latitude/longitude become signed decimal degrees. Malformed
    values are left out rather than guessed. An image without EXIF gives ``{}``.

    Raises the same errors as :func:`load_image` for a file that is not a supported image.
    """
    from PIL import Image

    label = where or ("<bytes>" if isinstance(source, bytes | bytearray | memoryview) else str(source))
    info: ExifInfo = {}
    with _open_header(source, label, max_pixels) as im:
        try:
            exif = im.getexif()
            sub = exif.get_ifd(_IFD_EXIF)
            gps = exif.get_ifd(_IFD_GPS)
        except (*_DECODE_ERRORS, Image.DecompressionBombError):
            log.debug("unreadable EXIF in %s ignored", label, exc_info=True)
            return info
    _exif_datetime(exif, sub, info)
    _exif_gps(gps, info)
    orientation = _as_int(exif.get(_TAG_ORIENTATION))
    if orientation is not None and 1 <= orientation <= 8:
        info["orientation"] = orientation
    for key, tag in (("make", _TAG_MAKE), ("model", _TAG_MODEL)):
        text = _as_text(exif.get(tag))
        if text:
            info[key] = text  # type: ignore[literal-required]
    return info


@contextlib.contextmanager
def _open_header(source: ImageSource, label: str, max_pixels: int) -> Iterator[PILImage.Image]:
    """An image opened lazily (header and metadata only) after sniffing its type; closed on exit."""
    with contextlib.ExitStack() as stack:
        if isinstance(source, bytes | bytearray | memoryview):
            fh: BinaryIO = io.BytesIO(bytes(source))
        else:
            try:
                fh = stack.enter_context(Path(source).open("rb"))
            except FileNotFoundError as err:
                raise NotFoundError("no such file", where=label) from err
            except IsADirectoryError as err:
                raise InputError("is a folder, not an image file", where=label) from err
            except OSError as err:
                raise InputError(f"cannot read: {err.strerror or err}", where=label) from err
        head = fh.read(_SNIFF_BYTES)
        if not head:
            raise MediaError("empty file", where=label)
        fh.seek(0)
        im = stack.enter_context(_open_checked(fh, head, label, max_pixels)[0])
        yield im


def _exif_datetime(exif: Any, sub: Any, info: ExifInfo) -> None:
    candidates = (
        (sub.get(_TAG_DATETIME_ORIGINAL), sub.get(_TAG_SUBSEC_ORIGINAL), sub.get(_TAG_OFFSET_TIME_ORIGINAL)),
        (sub.get(_TAG_DATETIME_DIGITIZED), sub.get(_TAG_SUBSEC_DIGITIZED), sub.get(_TAG_OFFSET_TIME_DIGITIZED)),
        (exif.get(_TAG_DATETIME), sub.get(_TAG_SUBSEC), sub.get(_TAG_OFFSET_TIME)),
    )
    for raw, subsec, offset in candidates:
        value = _parse_exif_datetime(_as_text(raw), _as_text(subsec), _as_text(offset))
        if value is not None:
            info["datetime_original"] = value
            info["datetime_naive"] = value.tzinfo is None
            return


def _parse_exif_datetime(text: str | None, subsec: str | None, offset: str | None) -> datetime | None:
    if not text:
        return None
    m = _DATETIME_RE.match(text)
    if not m:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        value = datetime(year, month, day, hour, minute, second)  # naive until an offset is known
    except ValueError:  # "0000:00:00 00:00:00" and other placeholders
        return None
    digits = (subsec or "").strip()
    if digits.isdigit():
        value = value.replace(microsecond=int((digits + "000000")[:6]))
    om = _OFFSET_RE.match(offset or "")
    if om:
        sign = -1 if om.group(1) == "-" else 1
        delta = timedelta(hours=int(om.group(2)), minutes=int(om.group(3)))
        if delta <= timedelta(hours=14):
            value = value.replace(tzinfo=timezone(sign * delta)).astimezone(UTC)
    return value


def _exif_gps(gps: Any, info: ExifInfo) -> None:
    lat = _dms_to_degrees(gps.get(2), _as_text(gps.get(1)), "NS", 90.0)
    lon = _dms_to_degrees(gps.get(4), _as_text(gps.get(3)), "EW", 180.0)
    if lat is not None and lon is not None:
        info["lat"] = lat
        info["lon"] = lon
    alt = _as_float(gps.get(6))
    if alt is not None:
        below = _as_int(gps.get(5)) == 1
        info["altitude_m"] = -alt if below else alt
    stamp = _as_text(gps.get(29))
    hms = gps.get(7)
    if stamp and isinstance(hms, Sequence) and len(hms) == 3:
        parts = [_as_float(v) for v in hms]
        m = re.match(r"^\s*(\d{4}):(\d{2}):(\d{2})", stamp)
        if m and all(p is not None for p in parts):
            h, mi, s = (float(p) for p in parts if p is not None)
            try:
                day = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=UTC)
                info["gps_datetime"] = day + timedelta(hours=h, minutes=mi, seconds=s)
            except (ValueError, OverflowError):
                pass


def _dms_to_degrees(value: Any, ref: str | None, refs: str, limit: float) -> float | None:
    """EXIF (degrees, minutes, seconds) rationals + "N"/"S" (or "E"/"W") → signed decimal degrees."""
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or not 1 <= len(value) <= 3:
        return None
    parts = [_as_float(v) for v in value]
    if any(p is None or p < 0 for p in parts):
        return None
    weights = (1.0, 1 / 60, 1 / 3600)
    degrees = sum(float(p) * w for p, w in zip(parts, weights, strict=False) if p is not None)
    ref = (ref or refs[0]).strip().upper()[:1]
    if ref not in refs:
        return None
    if ref == refs[1]:
        degrees = -degrees
    return degrees if abs(degrees) <= limit else None


def _as_float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return out if math.isfinite(out) else None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _as_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text or None


# ------------------------------------------------------------------------------------------ folders


def list_image_files(
    folder: str | os.PathLike[str],
    *,
    pattern: str = "*",
    recursive: bool = False,
    include_hidden: bool = False,
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Image files in ``folder`` whose names match ``pattern``, sorted by path, and the files skipped.

    A file counts as an image when its suffix is in :data:`IMAGE_EXTENSIONS` or, whatever its name,
    when its first bytes are those of a known image type (supported or not, so that e.g. a HEIC photo
    is reported by the loader rather than silently ignored). Other files come back in the second
    list with the reason ("not an image"); so do unreadable sub-folders. Hidden files and folders
    (names starting with ".") are left out unless ``include_hidden``.

    Raises:
        NotFoundError: ``folder`` does not exist.
        InputError: ``folder`` is not a folder, or cannot be listed.
    """
    root = Path(folder)
    if not root.exists():
        raise NotFoundError("no such folder", where=root)
    if not root.is_dir():
        raise InputError("not a folder", where=root)
    try:
        with os.scandir(root):
            pass
    except OSError as err:
        raise InputError(f"cannot list folder: {err.strerror or err}", where=root) from err

    images: list[Path] = []
    skipped: list[tuple[Path, str]] = []

    def on_error(err: OSError) -> None:
        skipped.append((Path(err.filename or root), f"cannot list folder: {err.strerror or err}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        dirnames[:] = sorted(d for d in dirnames if include_hidden or not d.startswith("."))
        if not recursive:
            dirnames.clear()
        for name in filenames:
            if (not include_hidden and name.startswith(".")) or not fnmatchcase(name, pattern):
                continue
            path = Path(dirpath, name)
            if not path.is_file():
                continue
            if path.suffix.lower() in IMAGE_EXTENSIONS or _sniff_file(path) is not None:
                images.append(path)
            else:
                skipped.append((path, "not an image"))
    images.sort(key=lambda p: p.relative_to(root).as_posix())
    skipped.sort(key=lambda item: str(item[0]))
    return images, skipped


def _sniff_file(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return sniff_image_type(fh.read(_SNIFF_BYTES))
    except OSError:
        return None
