"""A deterministic, in-memory corpus of image bytes for parser, fetch and integration tests.

Images are made with Pillow where Pillow can write the format, and by hand where a case needs
exact control (JPEG SOF kinds, Exif thumbnails, TIFF IFD placement, HEIF boxes, SVG). Large
files get their bytes from random noise and big metadata rather than from huge pixel counts,
so the whole corpus builds in about a second.

``simulate_fetch`` plays the fetch layer's part: a first Range request, then one request per
NeedBytes, counting requests and bytes. ``python -m tests.image_corpus`` prints the measurement
table of docs/image-parser.md, comparing with the ``imagesize`` package when it is installed.
"""

from __future__ import annotations

import functools
import gzip
import importlib
import importlib.util
import io
import random
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, PngImagePlugin

from linkcheck.probes.image_header import (
    FIRST_READ_BYTES,
    FOLLOW_UP_BYTES,
    ByteView,
    CorruptImage,
    ImageHeader,
    NeedBytes,
    NotAnImage,
    parse,
)

SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True)
class Sample:
    """An image with the header facts a correct parser must report."""

    name: str
    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    orientation: int = 1
    pillow: bool = True
    """Pillow can open the bytes and must agree on the size (and orientation)."""
    realistic: bool = False
    """A full-size, photo-like file used for the byte measurements."""

    @property
    def displayed_width(self) -> int:
        return self.height if self.orientation >= 5 else self.width

    @property
    def displayed_height(self) -> int:
        return self.width if self.orientation >= 5 else self.height


@dataclass(frozen=True)
class BadSample:
    """Bytes the parser must refuse with ``error`` and a message containing ``message``."""

    name: str
    data: bytes = field(repr=False)
    error: type[Exception]
    message: str


# --------------------------------------------------------------------------------------------
# Generic helpers


def noise(width: int, height: int, seed: int, mode: str = "RGB") -> Image.Image:
    """Random pixels: incompressible content that gives realistic byte counts."""
    channels = len(mode)
    return Image.frombytes(
        mode, (width, height), random.Random(seed).randbytes(width * height * channels)
    )


def pattern(width: int, height: int, colour: str = "navy") -> Image.Image:
    """A small asymmetric picture (orientation mistakes change its pixels)."""
    im = Image.new("RGB", (width, height), "white")
    im.paste(Image.new("RGB", (max(1, width // 3), max(1, height // 4)), colour), (0, 0))
    return im


def encode(im: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# JPEG builders


def segment(marker: int, payload: bytes) -> bytes:
    if len(payload) > 65533:
        raise ValueError("JPEG segment payload too large")
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def sof(marker: int, width: int, height: int) -> bytes:
    components = b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return segment(marker, struct.pack(">BHHB", 8, height, width, 3) + components)


JFIF_APP0 = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
SOS = segment(0xDA, b"\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00")


def hand_jpeg(*middle: bytes) -> bytes:
    """SOI + APP0 + ``middle`` + a token scan + EOI: enough for header parsers and Pillow."""
    return b"\xff\xd8" + JFIF_APP0 + b"".join(middle) + SOS + b"\x12\x34" * 8 + b"\xff\xd9"


def insert_after_app0(jpeg: bytes, *segments: bytes) -> bytes:
    """Splice segments in after SOI (and after a leading APP0, as cameras order them)."""
    pos = 2
    if jpeg[2:4] == b"\xff\xe0":
        pos = 4 + int.from_bytes(jpeg[4:6], "big")
    return jpeg[:pos] + b"".join(segments) + jpeg[pos:]


def _ifd(order: str, entries: list[tuple[int, int, int, int]], next_ifd: int) -> bytes:
    """An IFD with inline values (SHORT left-justified) or offsets; entries sorted by tag."""
    e = "<" if order == "II" else ">"
    out = struct.pack(e + "H", len(entries))
    for tag, kind, count, value in sorted(entries):
        inline = (
            struct.pack(e + "HH", value, 0)
            if kind == 3 and count == 1
            else struct.pack(e + "I", value)
        )
        out += struct.pack(e + "HHI", tag, kind, count) + inline
    return out + struct.pack(e + "I", next_ifd)


def exif_payload(
    order: str = "II",
    orientation: int | None = None,
    pixel_dims: tuple[int, int] | None = None,
    thumbnail: bytes | None = None,
    maker_note: int = 0,
) -> bytes:
    """An APP1 Exif payload: IFD0 (orientation, Exif IFD), Exif IFD, IFD1 with a thumbnail."""
    e = "<" if order == "II" else ">"
    ifd0_entries = 1 + (orientation is not None)
    exif_entries = (2 if pixel_dims else 0) + (1 if maker_note else 0)
    exif_ifd = 8 + 6 + 12 * ifd0_entries
    ifd1 = exif_ifd + 6 + 12 * exif_entries
    note_at = ifd1 + (30 if thumbnail else 0)
    thumb_at = note_at + maker_note
    ifd0: list[tuple[int, int, int, int]] = [(34665, 4, 1, exif_ifd)]
    if orientation is not None:
        ifd0.append((274, 3, 1, orientation))
    sub: list[tuple[int, int, int, int]] = []
    if pixel_dims:
        sub += [(40962, 4, 1, pixel_dims[0]), (40963, 4, 1, pixel_dims[1])]
    if maker_note:
        sub.append((37500, 7, maker_note, note_at))
    tiff = (order.encode() + struct.pack(e + "HI", 42, 8)) + _ifd(
        order, ifd0, ifd1 if thumbnail else 0
    )
    tiff += _ifd(order, sub, 0)
    if thumbnail:
        tiff += _ifd(order, [(513, 4, 1, thumb_at), (514, 4, 1, len(thumbnail))], 0)
    tiff += random.Random(maker_note).randbytes(maker_note) + (thumbnail or b"")
    return b"Exif\x00\x00" + tiff


def exif_jpeg(
    width: int, height: int, order: str, orientation: int, seed: int = 7, **exif: Any
) -> bytes:
    base = encode(pattern(width, height), "JPEG", quality=80)
    return insert_after_app0(base, segment(0xE1, exif_payload(order, orientation, **exif)))


def thumbnail_jpeg() -> bytes:
    """A real 160x120 JPEG, as cameras embed in Exif IFD1."""
    return encode(pattern(160, 120, "red"), "JPEG", quality=60)


def big_app_jpeg(width: int = 640, height: int = 480) -> bytes:
    """~110 KB of APPn (Exif with thumbnail and maker note, then a 50 KB ICC profile) before SOF.

    The Exif carries a thumbnail (its own SOF: 160x120) and a bogus PixelXDimension/
    PixelYDimension of 9999x7777; the main image's SOF comes after all of it.
    """
    exif = exif_payload(
        "MM", 6, pixel_dims=(9999, 7777), thumbnail=thumbnail_jpeg(), maker_note=56_000
    )
    icc = b"\x00\x00\xc3\x50ICC fake profile" + random.Random(3).randbytes(50_000 - 20)
    base = encode(noise(width, height, 11), "JPEG", quality=70, icc_profile=icc)
    return insert_after_app0(base, segment(0xE1, exif))


# --------------------------------------------------------------------------------------------
# TIFF, BMP builders


def hand_tiff(order: str, width: int, height: int, ifd_at_end: bool, orientation: int = 1) -> bytes:
    """Uncompressed 8-bit greyscale TIFF; width as SHORT, height as LONG."""
    e = "<" if order == "II" else ">"
    pixels = random.Random(width).randbytes(width * height)
    data_at = 8 if ifd_at_end else 8 + 6 + 12 * 10
    ifd_at = 8 + len(pixels) if ifd_at_end else 8
    entries = [
        (256, 3, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, data_at),
        (274, 3, 1, orientation),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, len(pixels)),
    ]
    head = order.encode() + struct.pack(e + "HI", 42, ifd_at)
    ifd = _ifd(order, entries, 0)
    return head + (pixels + ifd if ifd_at_end else ifd + pixels)


def os2_bmp(width: int, height: int) -> bytes:
    """A BMP with the 12-byte OS/2 BITMAPCOREHEADER (16-bit width and height)."""
    row = (width * 3 + 3) & ~3
    pixels = bytes(row * height)
    offset = 14 + 12
    header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    return header + struct.pack("<IHHHH", 12, width, height, 1, 24) + pixels


def top_down_bmp(width: int, height: int) -> bytes:
    data = bytearray(encode(pattern(width, height), "BMP"))
    data[22:26] = struct.pack("<i", -height)
    return bytes(data)


# --------------------------------------------------------------------------------------------
# ISO-BMFF (HEIF / AVIF) builders


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


@dataclass(frozen=True)
class HeifItem:
    item_id: int
    item_type: bytes
    size: tuple[int, int] | None
    irot: int | None = None
    imir: int | None = None


def heif(
    major: bytes,
    compatible: Iterable[bytes],
    items: list[HeifItem],
    primary: int,
    mdat_size: int = 64,
    meta_after_mdat: bool = False,
) -> bytes:
    """A minimal HEIF: ftyp, meta (hdlr, pitm, iinf, iprp with ipco/ipma), mdat of noise."""
    ftyp = box(b"ftyp", major + b"\x00\x00\x00\x00" + b"".join(compatible))
    codec_config = b"av1C" if any(it.item_type == b"av01" for it in items) else b"hvcC"
    properties: list[bytes] = [box(codec_config, b"\x81\x00\x0c\x00")]
    associations = b""
    for item in items:
        indices = [1]
        if item.size:
            properties.append(full_box(b"ispe", 0, 0, struct.pack(">II", *item.size)))
            indices.append(len(properties))
        if item.irot is not None:
            properties.append(box(b"irot", bytes([item.irot])))
            indices.append(len(properties))
        if item.imir is not None:
            properties.append(box(b"imir", bytes([item.imir])))
            indices.append(len(properties))
        associations += struct.pack(">HB", item.item_id, len(indices))
        associations += bytes(0x80 | i if i == 1 else i for i in indices)
    ipco = box(b"ipco", b"".join(properties))
    ipma = full_box(b"ipma", 0, 0, struct.pack(">I", len(items)) + associations)
    infe = b"".join(
        full_box(b"infe", 2, 0, struct.pack(">HH", it.item_id, 0) + it.item_type + b"\x00")
        for it in items
    )
    meta = full_box(
        b"meta",
        0,
        0,
        full_box(b"hdlr", 0, 0, b"\x00" * 4 + b"pict" + b"\x00" * 13)
        + full_box(b"pitm", 0, 0, struct.pack(">H", primary))
        + full_box(b"iinf", 0, 0, struct.pack(">H", len(items)) + infe)
        + box(b"iprp", ipco + ipma),
    )
    mdat = box(b"mdat", random.Random(mdat_size).randbytes(mdat_size))
    return ftyp + (mdat + meta if meta_after_mdat else meta + mdat)


def simple_heif(
    fmt: str, width: int, height: int, irot: int | None = None, imir: int | None = None, **kw: Any
) -> bytes:
    major, item_type = (b"avif", b"av01") if fmt == "avif" else (b"heic", b"hvc1")
    items = [HeifItem(1, item_type, (width, height), irot, imir)]
    return heif(major, [b"mif1", b"miaf", major], items, primary=1, **kw)


# --------------------------------------------------------------------------------------------
# SVG


def svg(attributes: str, body: str = "", prolog: str = "") -> bytes:
    return f'{prolog}<svg xmlns="{SVG_NS}" {attributes}>{body}</svg>\n'.encode()


# --------------------------------------------------------------------------------------------
# The corpus


def _jpeg_samples() -> list[Sample]:
    samples = [
        Sample("jpeg_baseline", encode(pattern(64, 48), "JPEG"), "jpeg", 64, 48),
        Sample(
            "jpeg_progressive",
            encode(noise(120, 90, 1), "JPEG", progressive=True),
            "jpeg",
            120,
            90,
        ),
        Sample(
            "jpeg_fill_and_junk",
            hand_jpeg(b"junk!", b"\xff\xff\xff", sof(0xC0, 321, 123)),
            "jpeg",
            321,
            123,
        ),
        Sample(
            "jpeg_standalone_markers",
            hand_jpeg(b"\xff\xd0\xff\x01\xff\xd7", sof(0xC0, 33, 44)),
            "jpeg",
            33,
            44,
            pillow=False,
        ),
        Sample(
            "jpeg_dht_dac_jpg_not_sof",
            hand_jpeg(
                segment(0xC4, b"\x00" * 17),
                segment(0xCC, b"\x00\x10"),
                segment(0xC8, b"\x00\x00\x00"),
                sof(0xC2, 500, 400),
            ),
            "jpeg",
            500,
            400,
        ),
        Sample("jpeg_orientation_6_II", exif_jpeg(80, 60, "II", 6), "jpeg", 80, 60, 6),
        Sample("jpeg_orientation_8_MM", exif_jpeg(80, 60, "MM", 8), "jpeg", 80, 60, 8),
        Sample("jpeg_orientation_3_MM", exif_jpeg(80, 60, "MM", 3), "jpeg", 80, 60, 3),
        Sample(
            "jpeg_xmp_then_exif",
            insert_after_app0(
                encode(pattern(90, 70), "JPEG"),
                segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>" + b" " * 3000),
                segment(0xE1, exif_payload("II", 5)),
            ),
            "jpeg",
            90,
            70,
            5,
        ),
        Sample("jpeg_big_app_segments", big_app_jpeg(), "jpeg", 640, 480, 6),
        Sample(
            "jpeg_first_exif_wins",
            insert_after_app0(
                encode(pattern(90, 70), "JPEG"),
                segment(0xE1, exif_payload("MM", 6)),
                segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"),
                segment(0xE1, exif_payload("II", 3)),
            ),
            "jpeg",
            90,
            70,
            6,
        ),
    ]
    for marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
        data = hand_jpeg(sof(marker, 200 + marker, 100 + marker))
        samples.append(Sample(f"jpeg_sof_{marker:02x}", data, "jpeg", 200 + marker, 100 + marker))
    return samples


def _realistic_samples() -> list[Sample]:
    camera_exif = exif_payload(
        "II", 1, pixel_dims=(2000, 1500), thumbnail=thumbnail_jpeg(), maker_note=30_000
    )
    phone_exif = exif_payload(
        "MM", 6, pixel_dims=(1200, 900), thumbnail=thumbnail_jpeg(), maker_note=8_000
    )
    icc = b"\x00\x00\x0b\xb8ICC profile" + random.Random(5).randbytes(3000 - 15)
    png_info = PngImagePlugin.PngInfo()
    png_info.add_text("Comment", "x" * 2000)
    return [
        Sample(
            "real_jpeg_60k",
            encode(noise(320, 240, 21), "JPEG", quality=78),
            "jpeg",
            320,
            240,
            realistic=True,
        ),
        Sample(
            "real_jpeg_icc_400k",
            encode(noise(900, 600, 22), "JPEG", quality=85, icc_profile=icc),
            "jpeg",
            900,
            600,
            realistic=True,
        ),
        Sample(
            "real_jpeg_camera_2500k",
            insert_after_app0(
                encode(noise(2000, 1500, 23), "JPEG", quality=88), segment(0xE1, camera_exif)
            ),
            "jpeg",
            2000,
            1500,
            realistic=True,
        ),
        Sample(
            "real_jpeg_phone_800k",
            insert_after_app0(
                encode(noise(1200, 900, 27), "JPEG", quality=85), segment(0xE1, phone_exif)
            ),
            "jpeg",
            1200,
            900,
            6,
            realistic=True,
        ),
        Sample(
            "real_avif_240k",
            encode(noise(800, 600, 28), "AVIF", quality=60, speed=10),
            "avif",
            800,
            600,
            realistic=True,
        ),
        Sample(
            "real_png_800k",
            encode(noise(600, 450, 24), "PNG", compress_level=1, pnginfo=png_info),
            "png",
            600,
            450,
            realistic=True,
        ),
        Sample(
            "real_webp_lossy_300k",
            encode(noise(800, 600, 25), "WEBP", quality=75),
            "webp",
            800,
            600,
            realistic=True,
        ),
        Sample(
            "real_webp_lossless_360k",
            encode(noise(300, 400, 26), "WEBP", lossless=True),
            "webp",
            300,
            400,
            realistic=True,
        ),
    ]


def _png_gif_webp_samples() -> list[Sample]:
    frames = [pattern(50, 40, c) for c in ("red", "green", "blue")]
    big_text = PngImagePlugin.PngInfo()
    big_text.add_text("Description", "y" * 100_000)
    icc = b"\x00\x00\x0b\xb8ICC profile" + random.Random(8).randbytes(3000 - 15)
    return [
        Sample("png_rgb", encode(pattern(70, 30), "PNG"), "png", 70, 30),
        Sample("png_palette", encode(pattern(17, 9).convert("P"), "PNG"), "png", 17, 9),
        Sample(
            "png_big_text_before_idat",
            encode(pattern(40, 20), "PNG", pnginfo=big_text, icc_profile=icc),
            "png",
            40,
            20,
        ),
        Sample(
            "apng",
            encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100),
            "apng",
            50,
            40,
        ),
        Sample("gif_static", encode(pattern(31, 29).convert("P"), "GIF"), "gif", 31, 29),
        Sample(
            "gif_animated",
            encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100),
            "gif",
            50,
            40,
        ),
        Sample("webp_lossy_vp8", encode(pattern(101, 57), "WEBP", quality=80), "webp", 101, 57),
        Sample(
            "webp_lossless_vp8l", encode(pattern(99, 77), "WEBP", lossless=True), "webp", 99, 77
        ),
        Sample(
            "webp_extended_vp8x",
            encode(pattern(64, 65).convert("RGBA"), "WEBP", quality=80, icc_profile=icc),
            "webp",
            64,
            65,
        ),
        Sample(
            "webp_animated",
            encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100),
            "webp",
            50,
            40,
        ),
    ]


def _other_raster_samples() -> list[Sample]:
    icon = pattern(256, 256)
    return [
        Sample("bmp_bottom_up", encode(pattern(45, 23), "BMP"), "bmp", 45, 23),
        Sample("bmp_top_down", top_down_bmp(45, 23), "bmp", 45, 23),
        Sample("bmp_os2_core_header", os2_bmp(13, 7), "bmp", 13, 7),
        Sample("tiff_pillow_le", encode(pattern(52, 38), "TIFF"), "tiff", 52, 38),
        Sample(
            "tiff_pillow_orientation_8",
            encode(pattern(52, 38), "TIFF", exif=_exif_orientation(8)),
            "tiff",
            52,
            38,
            8,
        ),
        Sample("tiff_be_ifd_first", hand_tiff("MM", 300, 20, ifd_at_end=False), "tiff", 300, 20),
        Sample(
            "tiff_be_ifd_at_end",
            hand_tiff("MM", 70, 50, ifd_at_end=True, orientation=6),
            "tiff",
            70,
            50,
            6,
        ),
        Sample(
            "tiff_le_ifd_at_end_1m",
            hand_tiff("II", 1024, 1000, ifd_at_end=True),
            "tiff",
            1024,
            1000,
        ),
        Sample(
            "ico_four_sizes",
            encode(icon, "ICO", sizes=[(16, 16), (32, 32), (48, 48), (256, 256)]),
            "ico",
            256,
            256,
        ),
        Sample(
            "ico_largest_64x48",
            encode(pattern(64, 48), "ICO", sizes=[(16, 16), (64, 48)]),
            "ico",
            64,
            48,
        ),
    ]


def _exif_orientation(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[274] = value
    return exif


def _heif_samples() -> list[Sample]:
    samples = [
        Sample(
            "heic_hand",
            simple_heif("heic", 4032, 3024),
            "heic",
            4032,
            3024,
            pillow=False,
        ),
        Sample(
            "heic_irot_3",
            simple_heif("heic", 4032, 3024, irot=3),
            "heic",
            4032,
            3024,
            6,
            pillow=False,
        ),
        Sample(
            "heic_mif1_brand_hvc1_items",
            heif(
                b"mif1",
                [b"mif1", b"miaf"],
                [HeifItem(1, b"hvc1", (160, 120)), HeifItem(2, b"hvc1", (1280, 960))],
                primary=2,
            ),
            "heic",
            1280,
            960,
            pillow=False,
        ),
        Sample(
            "avif_mif1_brand_av01_items",
            heif(b"mif1", [b"mif1", b"miaf"], [HeifItem(1, b"av01", (640, 360))], primary=1),
            "avif",
            640,
            360,
            pillow=False,
        ),
        Sample(
            "heic_grid_primary",
            heif(
                b"heic",
                [b"mif1", b"heic"],
                [
                    HeifItem(1, b"hvc1", (512, 512)),
                    HeifItem(2, b"hvc1", (512, 512)),
                    HeifItem(3, b"grid", (1000, 500)),
                ],
                primary=3,
            ),
            "heic",
            1000,
            500,
            pillow=False,
        ),
        Sample(
            "avif_meta_after_big_mdat",
            simple_heif(
                "avif", 1920, 1080, irot=1, imir=0, mdat_size=1_000_000, meta_after_mdat=True
            ),
            "avif",
            1920,
            1080,
            5,
            pillow=False,
        ),
        Sample("avif_pillow", encode(pattern(40, 30), "AVIF"), "avif", 40, 30),
        Sample(
            "avif_pillow_animated",
            encode(pattern(40, 30), "AVIF", save_all=True, append_images=[pattern(40, 30, "red")]),
            "avif",
            40,
            30,
        ),
    ]
    for orientation in range(2, 9):
        data = encode(pattern(40, 30), "AVIF", exif=_exif_orientation(orientation).tobytes())
        samples.append(
            Sample(f"avif_pillow_orientation_{orientation}", data, "avif", 40, 30, orientation)
        )
    return samples


def _svg_samples() -> list[Sample]:
    doctype = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<!-- made by hand -->\n'
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    )
    specs: list[tuple[str, bytes, int, int]] = [
        ("svg_px", svg('width="120" height="80px"'), 120, 80),
        ("svg_inches", svg('width="2in" height="1.5in"'), 192, 144),
        ("svg_pt_pc", svg('width="72pt" height="6pc"'), 96, 96),
        ("svg_mm_cm", svg('width="10mm" height="1cm"'), 38, 38),
        ("svg_em", svg('width="2em" height="0.5em"'), 32, 8),
        ("svg_viewbox_only", svg('viewBox="0 0 640 480"'), 640, 480),
        ("svg_viewbox_commas", svg('viewBox="-10,-10,300.5,100.4"'), 301, 100),
        ("svg_width_and_viewbox", svg('width="320" viewBox="0 0 640 480"'), 320, 240),
        ("svg_height_and_viewbox", svg('height="100" viewBox="0 0 400 200"'), 200, 100),
        ("svg_percent_falls_back", svg('width="100%" height="100%" viewBox="0 0 50 25"'), 50, 25),
        (
            "svg_child_sizes_ignored",
            svg(
                'viewBox="0 0 10 10"',
                '<rect width="500" height="400"/><svg width="900" height="900"/>',
            ),
            10,
            10,
        ),
        ("svg_no_size_default", svg(""), 300, 150),
        ("svg_prolog_doctype", svg('width="64" height="32"', prolog=doctype), 64, 32),
        ("svg_bom", b"\xef\xbb\xbf  \n" + svg('width="5" height="6"'), 5, 6),
        (
            "svg_utf16",
            '<?xml version="1.0" encoding="UTF-16"?><svg xmlns="http://www.w3.org/2000/svg" '
            'width="11" height="12"/>'.encode("utf-16"),
            11,
            12,
        ),
        ("svg_no_namespace", b'<svg width="21" height="22"></svg>', 21, 22),
        ("svg_prefixed", f'<s:svg xmlns:s="{SVG_NS}" width="9" height="8"/>'.encode(), 9, 8),
        (
            "svg_long_comment_first",
            svg('width="77" height="55"', prolog="<!--" + "c" * 20_000 + "-->\n"),
            77,
            55,
        ),
    ]
    return [Sample(name, data, "svg", w, h, pillow=False) for name, data, w, h in specs]


@functools.cache
def image_samples() -> tuple[Sample, ...]:
    """Every valid image of the corpus (deterministic; built once per process)."""
    return tuple(
        _jpeg_samples()
        + _png_gif_webp_samples()
        + _other_raster_samples()
        + _heif_samples()
        + _svg_samples()
        + _realistic_samples()
    )


def sample(name: str) -> Sample:
    return next(s for s in image_samples() if s.name == name)


ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">\n'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 16}">\n'.encode() for i in range(12)
    )
    + b']>\n<svg xmlns="http://www.w3.org/2000/svg" width="&m;" height="10"/>\n'
)


@functools.cache
def not_image_samples() -> tuple[BadSample, ...]:
    """Bytes that are no image at all: parse must raise NotAnImage."""
    png = encode(pattern(10, 10), "PNG")
    specs: list[tuple[str, bytes, str]] = [
        ("empty", b"", "empty"),
        ("html_doctype", b"<!doctype html>\n<html><head><title>404</title></head></html>", "HTML"),
        ("html_upper_after_ws", b"\n\n  <!DOCTYPE HTML PUBLIC>\n<HTML>", "HTML"),
        ("html_after_comment", b"<!-- cache miss -->\n<html lang=en><body>oops", "HTML"),
        ("html_bare_body", b"<body>Not found</body>", "HTML"),
        ("json_object", b'{"error": "not found", "status": 404}', "JSON"),
        ("json_array", b"  [1, 2, 3]", "JSON"),
        ("plain_text", b"Access denied.\n", "unknown format"),
        ("xml_rss", b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "<rss>"),
        ("xml_svg_wrong_namespace", b'<svg xmlns="urn:other" width="1" height="1"/>', "not <svg>"),
        ("gzip_png", gzip.compress(png, mtime=0), "gzip"),
        ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (
            "mp4_video",
            box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + box(b"mdat", b"\x00" * 64),
            "video",
        ),
        ("binary_noise", b"\x13\x37" + random.Random(9).randbytes(200), "unknown format"),
        ("whitespace_only", b" \n\t\n", "unknown format"),
    ]
    return tuple(BadSample(name, data, NotAnImage, msg) for name, data, msg in specs)


@functools.cache
def corrupt_samples() -> tuple[BadSample, ...]:
    """Recognised formats with broken headers: parse must raise CorruptImage."""
    png = encode(pattern(10, 10), "PNG")
    webp = bytearray(encode(pattern(10, 10), "WEBP", quality=50))
    webp[23:26] = b"\x00\x00\x00"
    gif = bytearray(encode(pattern(10, 10).convert("P"), "GIF"))
    gif[6:10] = b"\x00\x00\x00\x00"
    bmp = bytearray(encode(pattern(10, 10), "BMP"))
    bmp[18:22] = b"\x00\x00\x00\x00"
    tiff = bytearray(hand_tiff("II", 10, 10, ifd_at_end=False))
    tiff[4:8] = struct.pack("<I", 999_999)
    no_meta = box(b"ftyp", b"avif\x00\x00\x00\x00avifmif1") + box(b"mdat", b"\x00" * 100)
    no_ispe = heif(b"heic", [b"mif1"], [HeifItem(1, b"hvc1", None)], primary=1)
    specs: list[tuple[str, bytes, str]] = [
        ("png_no_ihdr", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "IHDR"),
        ("png_truncated_signature_plus", png[:20], "truncated"),
        ("png_iend_before_idat", png[:33] + b"\x00\x00\x00\x00IEND\xaeB`\x82", "IEND before"),
        (
            "jpeg_soi_then_garbage",
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"garbage " * 20_000,
            "no marker",
        ),
        ("jpeg_soi_then_short_garbage", b"\xff\xd8\xff\xe0\x00\x04ab" + b"garbage", "truncated"),
        ("jpeg_truncated_in_app", big_app_jpeg()[:3000], "truncated"),
        ("jpeg_sos_before_sof", b"\xff\xd8\xff" + SOS[1:] + b"\x00" * 20 + b"\xff\xd9", "SOS"),
        ("jpeg_eoi_before_sof", b"\xff\xd8" + JFIF_APP0 + b"\xff\xd9", "EOI"),
        ("jpeg_zero_width", hand_jpeg(sof(0xC0, 0, 10)), "0x10"),
        ("jpeg_bad_segment_length", b"\xff\xd8\xff\xe0\x00\x01" + b"\x00" * 50, "invalid length"),
        ("gif_zero_size", bytes(gif), "0x0"),
        ("gif_truncated", bytes(gif[:8]), "truncated"),
        ("webp_bad_vp8_start_code", bytes(webp), "start code"),
        ("webp_unknown_chunk", b"RIFF\x20\x00\x00\x00WEBPABCD" + b"\x00" * 24, "not VP8"),
        ("bmp_zero_width", bytes(bmp), "0x10"),
        ("tiff_ifd_past_end", bytes(tiff), "past the end"),
        (
            "tiff_no_size_tags",
            b"II*\x00\x08\x00\x00\x00" + _ifd("II", [(259, 3, 1, 1)], 0),
            "ImageWidth",
        ),
        ("avif_no_meta", no_meta, "no meta box"),
        ("heic_no_ispe", no_ispe, "ispe"),
        ("svg_entity_bomb", ENTITY_BOMB, "entities"),
        ("svg_malformed", b'<svg xmlns="http://www.w3.org/2000/svg" width=10>', "not well-formed"),
        ("svg_zero_width", svg('width="0" height="10"'), "non-positive"),
        ("svg_no_root_in_256k", b"<!--" + b"x" * 300_000, "no root element"),
    ]
    return tuple(BadSample(name, data, CorruptImage, msg) for name, data, msg in specs)


# --------------------------------------------------------------------------------------------
# Fetch simulation


@dataclass
class FetchResult:
    """What a simulated fetch loop ended with, and what it cost."""

    outcome: ImageHeader | Exception
    requests: int = 0
    bytes_read: int = 0
    needs: list[tuple[int, int]] = field(default_factory=list)


def simulate_fetch(
    data: bytes,
    first_read: int = FIRST_READ_BYTES,
    follow_up: int = FOLLOW_UP_BYTES,
    max_requests: int = 64,
    know_total: bool = True,
    parser: Callable[[ByteView], ImageHeader] = parse,
) -> FetchResult:
    """Play the fetch layer against ``data`` served with Range support.

    The first request is bytes=0-(first_read-1); each NeedBytes(o, n) becomes one request for
    [o, o + max(n, follow_up)), clipped to the file. With ``know_total`` the total size is set
    from the first response (as Content-Range tells it), otherwise only when a response comes
    back short (end of file reached).
    """
    total = len(data)
    view = ByteView(total_size=total if know_total else None)
    result = FetchResult(outcome=RuntimeError("no request made"))

    def fetch(offset: int, length: int) -> None:
        chunk = data[offset : offset + length]
        result.requests += 1
        result.bytes_read += len(chunk)
        view.add(offset, chunk)
        if len(chunk) < length:
            view.total_size = total

    fetch(0, first_read)
    while True:
        try:
            result.outcome = parser(view)
            return result
        except NeedBytes as need:
            result.needs.append((need.offset, need.length))
            if result.requests >= max_requests:
                result.outcome = RuntimeError(f"gave up after {result.requests} requests")
                return result
            fetch(need.offset, max(need.length, follow_up))
        except (NotAnImage, CorruptImage) as exc:
            result.outcome = exc
            return result


# --------------------------------------------------------------------------------------------
# Measurement (python -m tests.image_corpus)

FIRST_READ_CHOICES = (2048, 4096, 16384)


class _FakeResponse:
    """Just enough of an urllib response for imagesize's HTTP range reader."""

    def __init__(self, data: bytes, start: int | None, end: int | None) -> None:
        if start is None or end is None:
            self.status, self.body, self.headers = 200, data, {}
            return
        self.body = data[start : end + 1]
        self.status = 206
        last = start + len(self.body) - 1
        self.headers = {"Content-Range": f"bytes {start}-{last}/{len(data)}"}

    def read(self) -> bytes:
        return self.body

    def getcode(self) -> int:
        return self.status

    def __enter__(self) -> _FakeResponse:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


def imagesize_over_http(data: bytes) -> tuple[tuple[int, int], int, int]:
    """imagesize.get through its own HTTP range reader: (size, requests, bytes transferred)."""
    impl = importlib.import_module("imagesize.imagesize")
    counts = [0, 0]

    class Reader(impl._HttpRangeReader):  # type: ignore[name-defined,misc]
        def _request(self, start: int | None = None, end: int | None = None) -> _FakeResponse:
            response = _FakeResponse(data, start, end)
            counts[0] += 1
            counts[1] += len(response.body)
            return response

    size = impl.get(Reader("http://corpus.invalid/image"))
    return (int(size[0]), int(size[1])), counts[0], counts[1]


def measurement_rows() -> list[dict[str, Any]]:
    """Per sample: our (bytes, requests, correct) per first-read size, and imagesize's result."""
    have_imagesize = importlib.util.find_spec("imagesize") is not None
    rows = []
    for s in image_samples():
        row: dict[str, Any] = {"sample": s, "ours": {}}
        for first in FIRST_READ_CHOICES:
            r = simulate_fetch(s.data, first_read=first)
            ok = r.outcome == ImageHeader(s.format, s.width, s.height, s.orientation)
            row["ours"][first] = (r.bytes_read, r.requests, ok)
        if have_imagesize:
            size, requests, transferred = imagesize_over_http(s.data)
            row["imagesize"] = (size == (s.displayed_width, s.displayed_height), size)
            row["imagesize_http"] = (transferred, requests)
        rows.append(row)
    return rows


def main() -> None:
    rows = measurement_rows()
    head = " | ".join(f"ours {k // 1024}K" for k in FIRST_READ_CHOICES)
    print(f"{'sample':28} {'size':>9} | {head} | imagesize (HTTP bytes/req)")
    for row in rows:
        s: Sample = row["sample"]
        cells = [
            f"{b:>6}/{r}{'' if ok else '!'}"
            for b, r, ok in (row["ours"][k] for k in FIRST_READ_CHOICES)
        ]
        theirs = ""
        if "imagesize" in row:
            ok, size = row["imagesize"]
            b, r = row["imagesize_http"]
            theirs = f"{'ok' if ok else f'WRONG {size[0]}x{size[1]}'} ({b}/{r})"
        print(f"{s.name:28} {len(s.data):>9} | {' | '.join(cells)} | {theirs}")
    print("\nper format: samples, ours correct, imagesize correct, mean requests at 2/4/16K")
    formats: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        formats.setdefault(row["sample"].format, []).append(row)
    for fmt, group in formats.items():
        ours_ok = sum(all(row["ours"][k][2] for k in FIRST_READ_CHOICES) for row in group)
        theirs_ok = sum(row.get("imagesize", (False,))[0] for row in group)
        means = [sum(row["ours"][k][1] for row in group) / len(group) for k in FIRST_READ_CHOICES]
        print(
            f"{fmt:6} {len(group):3} {ours_ok:3} {theirs_ok:3}  "
            + " ".join(f"{m:.2f}" for m in means)
        )
    print("\nrealistic files: share of bytes read (ours 2K / 4K / 16K, imagesize HTTP)")
    for row in rows:
        s = row["sample"]
        if s.realistic:
            shares = [row["ours"][k][0] / len(s.data) for k in FIRST_READ_CHOICES]
            if "imagesize_http" in row:
                shares.append(row["imagesize_http"][0] / len(s.data))
            print(f"{s.name:28} {len(s.data):>9} " + " ".join(f"{x:7.2%}" for x in shares))


if __name__ == "__main__":
    main()
