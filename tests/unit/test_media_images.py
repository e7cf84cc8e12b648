"""Images: content sniffing, EXIF orientation/time/GPS, limits, corrupt and disguised files, folder listing."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from factories import make_image
from sightings.core.errors import InputError, MediaError, NotFoundError, TooLargeError, UnsupportedMediaError
from sightings.media.images import (
    list_image_files,
    load_image,
    read_exif,
    read_image,
    sniff_image_type,
)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` RGB pixels (a decompression bomb's shape)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _encode(arr: np.ndarray, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **save)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF"])
def test_supported_formats_load_as_rgb(fmt: str) -> None:
    arr = np.zeros((12, 20, 3), np.uint8)
    arr[:, 10:] = (200, 30, 30)
    data = _encode(arr, fmt)
    assert sniff_image_type(data) == fmt.lower()
    out = load_image(data)
    assert out.dtype == np.uint8
    assert out.shape == (12, 20, 3)
    assert out.flags.c_contiguous


def test_sniff_recognises_unsupported_and_unknown() -> None:
    assert sniff_image_type(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") == "heif"
    assert sniff_image_type(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00") == "avif"
    assert sniff_image_type(b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>') == "svg"
    assert sniff_image_type(b"hello, this is text") is None
    assert sniff_image_type(b"") is None


def test_unsupported_type_is_refused_by_content(tmp_path: Path) -> None:
    heic = tmp_path / "photo.jpg"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100)
    with pytest.raises(UnsupportedMediaError, match="heif images are not supported") as info:
        load_image(heic)
    assert info.value.where == str(heic)


def test_jpg_that_is_really_png_loads(tmp_path: Path) -> None:
    path = make_image(tmp_path / "really_png.jpg", width=40, height=30, fmt="PNG")
    loaded = read_image(path)
    assert loaded.kind == "png"
    assert loaded.image.shape == (30, 40, 3)
    assert np.array_equal(loaded.image, np.asarray(Image.open(path).convert("RGB")))  # lossless: exact pixels


def test_png_that_is_really_text_fails(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n" * 10)
    with pytest.raises(MediaError, match="not an image") as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_empty_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(MediaError, match="empty file"):
        load_image(path)
    with pytest.raises(MediaError, match="empty file"):
        load_image(b"")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(InputError, match="folder"):
        load_image(tmp_path)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_jpeg_fails(tmp_path: Path, keep: float) -> None:
    full = make_image(tmp_path / "full.jpg", width=256, height=192, seed=3).read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(full[: int(len(full) * keep)])
    with pytest.raises(MediaError, match=r"truncated|corrupt"):
        load_image(path)


def test_corrupt_png_fails() -> None:
    data = bytearray(_encode(np.full((32, 32, 3), 90, np.uint8), "PNG"))
    data[40:60] = b"\xff" * 20  # smash the IDAT stream
    with pytest.raises(MediaError):
        load_image(bytes(data))


def test_decompression_bomb_header_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(20000, 20000))
    assert path.stat().st_size < 200
    with pytest.raises(TooLargeError, match=r"pixels|too large") as info:
        load_image(path)
    assert info.value.where == str(path)
    # a header under Pillow's own bomb limit but over ours is refused by our check
    with pytest.raises(TooLargeError, match="over the limit of 1000000"):
        load_image(_png_claiming(2000, 2000), max_pixels=1_000_000)


def test_real_image_over_max_pixels_and_max_bytes(tmp_path: Path) -> None:
    path = make_image(tmp_path / "a.png", width=64, height=48)
    with pytest.raises(TooLargeError, match="3072 pixels"):
        load_image(path, max_pixels=3000)
    with pytest.raises(TooLargeError, match="bytes"):
        load_image(path, max_bytes=10)
    assert load_image(path, max_pixels=3072).shape == (48, 64, 3)


def _exif_with(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return exif


def test_exif_orientation_6_is_applied(tmp_path: Path) -> None:
    arr = np.zeros((20, 40, 3), np.uint8)  # stored landscape 40 wide x 20 high
    arr[:4, :4] = (255, 0, 0)  # red marker in the stored top-left corner
    path = tmp_path / "rotated.jpg"
    Image.fromarray(arr).save(path, exif=_exif_with(6), quality=95)
    out = load_image(path)
    assert out.shape == (40, 20, 3)  # shown portrait: transposed
    # orientation 6 = rotate 90 degrees clockwise to display: stored top-left goes to the top-right
    assert out[1, -2, 0] > 200 and out[1, -2, 1] < 60
    assert out[1, 1, 0] < 60
    loaded = read_image(path)
    assert (loaded.width, loaded.height) == (20, 40)
    assert read_exif(path)["orientation"] == 6


def test_max_side_shrinks_on_decode_keeping_orientation(tmp_path: Path) -> None:
    arr = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    path = tmp_path / "big.jpg"
    Image.fromarray(arr).save(path, exif=_exif_with(8))
    loaded = read_image(path, max_side=100)
    assert max(loaded.image.shape[:2]) == 100
    assert loaded.image.shape[0] > loaded.image.shape[1]  # portrait after orientation 8
    assert (loaded.width, loaded.height) == (300, 400)  # full-resolution size is reported


def test_alpha_is_composited_on_white_and_grey_and_16bit_become_rgb() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent black
    assert load_image(_encode(rgba, "PNG"))[0, 0].tolist() == [255, 255, 255]
    grey = np.full((4, 4), 77, np.uint8)
    assert load_image(_encode(grey, "PNG"))[0, 0].tolist() == [77, 77, 77]
    deep = Image.fromarray(np.full((4, 4), 65535, np.uint16))
    buf = io.BytesIO()
    deep.save(buf, format="PNG")
    assert load_image(buf.getvalue())[0, 0].tolist() == [255, 255, 255]


def test_gif_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((250, 0, 0), (0, 0, 250))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = load_image(buf.getvalue())
    assert out[0, 0, 0] > 200 and out[0, 0, 2] < 50


def test_read_exif_time_with_offset_and_gps(tmp_path: Path) -> None:
    exif = Image.Exif()
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = "2024:05:01 12:30:15"
    sub[ExifTags.Base.OffsetTimeOriginal] = "+03:00"
    sub[ExifTags.Base.SubsecTimeOriginal] = "25"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (55.0, 45.0, 21.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (37.0, 37.0, 0.0)
    gps[ExifTags.GPS.GPSAltitudeRef] = 0
    gps[ExifTags.GPS.GPSAltitude] = 150.5
    gps[ExifTags.GPS.GPSDateStamp] = "2024:05:01"
    gps[ExifTags.GPS.GPSTimeStamp] = (9.0, 30.0, 14.0)
    path = tmp_path / "geo.jpg"
    Image.new("RGB", (16, 16), (10, 20, 30)).save(path, exif=exif)

    info = read_exif(path)
    assert info["datetime_original"] == datetime(2024, 5, 1, 9, 30, 15, 250000, tzinfo=UTC)
    assert info["datetime_naive"] is False
    assert info["gps_datetime"] == datetime(2024, 5, 1, 9, 30, 14, tzinfo=UTC)
    assert info["lat"] == pytest.approx(55 + 45 / 60 + 21 / 3600)
    assert info["lon"] == pytest.approx(-(37 + 37 / 60))
    assert info["altitude_m"] == pytest.approx(150.5)
    assert read_exif(path.read_bytes())["lat"] == pytest.approx(info["lat"])


def test_read_exif_naive_time_is_flagged_and_bad_values_left_out(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Acme"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = "2023:12:31 23:59:59"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "X"  # invalid reference: no coordinates rather than a guess
    gps[ExifTags.GPS.GPSLatitude] = (10.0, 0.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (20.0, 0.0, 0.0)
    path = tmp_path / "naive.png"
    Image.new("RGB", (8, 8)).save(path, exif=exif)
    info = read_exif(path)
    assert info["datetime_original"] == datetime(2023, 12, 31, 23, 59, 59)  # naive on purpose
    assert info["datetime_naive"] is True
    assert info["make"] == "Acme"
    assert "lat" not in info and "lon" not in info

    placeholder = Image.Exif()
    placeholder.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "0000:00:00 00:00:00"
    path2 = tmp_path / "placeholder.jpg"
    Image.new("RGB", (8, 8)).save(path2, exif=placeholder)
    assert "datetime_original" not in read_exif(path2)
    assert read_exif(make_image(tmp_path / "plain.bmp")) == {}


def test_read_exif_refuses_non_images(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_text("text")
    with pytest.raises(MediaError):
        read_exif(path)


def test_list_image_files_by_extension_or_content(tmp_path: Path) -> None:
    make_image(tmp_path / "b.jpg")
    make_image(tmp_path / "a.png")
    make_image(tmp_path / "no_suffix", fmt="PNG")  # an image by content
    (tmp_path / "readme.txt").write_text("hello")
    (tmp_path / ".hidden.jpg").write_bytes(b"x")
    make_image(tmp_path / "sub" / "c.webp")
    images, skipped = list_image_files(tmp_path)
    assert [p.name for p in images] == ["a.png", "b.jpg", "no_suffix"]
    assert skipped == [(tmp_path / "readme.txt", "not an image")]
    images, _ = list_image_files(tmp_path, recursive=True, pattern="*.*")
    assert [p.relative_to(tmp_path).as_posix() for p in images] == ["a.png", "b.jpg", "sub/c.webp"]
    with pytest.raises(NotFoundError):
        list_image_files(tmp_path / "missing")
    with pytest.raises(InputError, match="not a folder"):
        list_image_files(tmp_path / "b.jpg")


def test_importing_images_module_pulls_no_pillow() -> None:
    code = (
        "import sys, sightings.media.images, sightings.media.hashing, sightings.media.sources, "
        "sightings.cli.media_dedup\n"
        "print('PIL' in sys.modules, 'av' in sys.modules, 'imagehash' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False False"
