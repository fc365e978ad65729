"""Image header parser that works on partial files fetched with HTTP Range requests.

The parser is pure and stateless. It is given a :class:`ByteView` holding whatever byte ranges
the fetch layer has so far; when it needs bytes it was not given it raises :class:`NeedBytes`
naming them, the fetch layer adds them with one Range request and calls :func:`parse` again from
scratch. The format is decided from the bytes alone (magic numbers), never from a file name or a
Content-Type.

Every walk over attacker-controlled structure (JPEG segments, PNG chunks, ISO-BMFF boxes, TIFF
entries) is bounded by a count and reads only small, bounded lengths, so no input can make the
parser loop forever, recurse deeply or allocate much memory; the number of :class:`NeedBytes`
rounds a single file can cause is bounded by the same caps.
"""

from __future__ import annotations

import bisect
import math
import re
import struct
import xml.parsers.expat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, NoReturn

__all__ = [
    "FIRST_READ_BYTES",
    "FOLLOW_UP_BYTES",
    "FORMATS",
    "TRAILER_BYTES",
    "ByteView",
    "CorruptImage",
    "ImageHeader",
    "NeedBytes",
    "NotAnImage",
    "TruncatedImage",
    "check_trailer",
    "parse",
]

FIRST_READ_BYTES: Final = 4096
"""Recommended size of the first Range request (bytes=0-4095); see docs/image-parser.md."""

FOLLOW_UP_BYTES: Final = 4096
"""Recommended minimum size of a follow-up request: NeedBytes.length is only the bare minimum,
and asking for at least this much lets one request cover the next few headers too."""

TRAILER_BYTES: Final = 64
"""How many bytes at the end of the file :func:`check_trailer` needs (a suffix Range bytes=-64)."""

FORMATS: Final = frozenset(
    {"jpeg", "png", "apng", "gif", "webp", "bmp", "tiff", "ico", "avif", "heic", "svg"}
)

_MAX_DIMENSION: Final = 1 << 31
_MAX_JPEG_SEGMENTS: Final = 1024
_MAX_JPEG_JUNK: Final = 64 * 1024
_MAX_PNG_CHUNKS: Final = 1024
_MAX_BOXES: Final = 1024
_MAX_META_CHILD: Final = 1 << 20
_MAX_IFD_ENTRIES: Final = 1024
_MAX_ICO_ENTRIES: Final = 1024
_MAX_SVG_BYTES: Final = 256 * 1024
_SVG_CHUNK: Final = 16 * 1024
_SNIFF_BYTES: Final = 32
_SCAN_CHUNK: Final = 4096


class NeedBytes(Exception):
    """The parser needs bytes ``[offset, offset + length)`` that the view does not hold.

    ``length`` is the minimum; fetching more (see :data:`FOLLOW_UP_BYTES`) is allowed and
    usually saves a round trip. The bytes never lie past a known ``total_size``.
    """

    def __init__(self, offset: int, length: int) -> None:
        super().__init__(f"need bytes {offset}-{offset + length - 1} ({length} bytes)")
        self.offset = offset
        self.length = length


class NotAnImage(Exception):
    """The bytes are no known image format (an HTML error page, JSON, text, empty, unknown)."""


class CorruptImage(Exception):
    """A recognised format whose header is broken or truncated; ``str(exc)`` explains it."""


class TruncatedImage(CorruptImage):
    """The file ends (at a known ``total_size``) before the bytes the header needs."""


class ByteView:
    """Sparse view of a file: known byte ranges at offsets, plus the total size when known."""

    def __init__(self, data: bytes = b"", offset: int = 0, total_size: int | None = None) -> None:
        self._starts: list[int] = []
        self._chunks: list[bytes] = []
        self.total_size = total_size
        if data:
            self.add(offset, data)

    def add(self, offset: int, data: bytes) -> None:
        """Merge ``data`` at ``offset``; ranges may touch or overlap (new bytes win)."""
        if offset < 0:
            raise ValueError("offset must be >= 0")
        if not data:
            return
        start, end = offset, offset + len(data)
        lo = bisect.bisect_left(self._starts, start)
        if lo > 0 and self._starts[lo - 1] + len(self._chunks[lo - 1]) >= start:
            lo -= 1
        hi = lo
        while hi < len(self._starts) and self._starts[hi] <= end:
            hi += 1
        if lo == hi:
            self._starts.insert(lo, start)
            self._chunks.insert(lo, bytes(data))
            return
        new_start = min(start, self._starts[lo])
        last_end = self._starts[hi - 1] + len(self._chunks[hi - 1])
        parts: list[bytes] = []
        first = self._chunks[lo]
        if self._starts[lo] < start:
            parts.append(first[: start - self._starts[lo]])
        parts.append(bytes(data))
        if last_end > end:
            parts.append(self._chunks[hi - 1][end - self._starts[hi - 1] :])
        self._starts[lo:hi] = [new_start]
        self._chunks[lo:hi] = [b"".join(parts)]

    @property
    def bytes_held(self) -> int:
        """How many distinct bytes of the file the view holds."""
        return sum(len(chunk) for chunk in self._chunks)

    def ranges(self) -> list[tuple[int, int]]:
        """The held ranges as ``(offset, length)``, sorted and disjoint."""
        return [(s, len(c)) for s, c in zip(self._starts, self._chunks, strict=True)]

    def contiguous_prefix(self) -> bytes:
        """Bytes from offset 0 up to the first gap (for sniffing)."""
        if self._starts and self._starts[0] == 0:
            return self._chunks[0]
        return b""

    def available(self, offset: int, max_length: int) -> bytes:
        """Up to ``max_length`` held bytes starting exactly at ``offset`` (maybe fewer, or none)."""
        i = bisect.bisect_right(self._starts, offset) - 1
        if i < 0:
            return b""
        rel = offset - self._starts[i]
        chunk = self._chunks[i]
        return chunk[rel : rel + max_length] if rel < len(chunk) else b""

    def read(self, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes at ``offset``.

        Raises TruncatedImage (a CorruptImage) if the range runs past a known total_size, and
        NeedBytes for the missing part of the range if not all of it is held.
        """
        if offset < 0 or length < 0:
            raise ValueError("offset and length must be >= 0")
        end = offset + length
        if self.total_size is not None and end > self.total_size:
            raise TruncatedImage(
                f"truncated: bytes {offset}-{end - 1} are needed but the file is only "
                f"{self.total_size} bytes long"
            )
        got = self.available(offset, length)
        if len(got) == length:
            return got
        first_missing = offset + len(got)
        last_missing = end
        j = bisect.bisect_right(self._starts, end - 1) - 1
        if j >= 0 and first_missing < self._starts[j] < end <= self._starts[j] + len(
            self._chunks[j]
        ):
            last_missing = self._starts[j]
        raise NeedBytes(first_missing, last_missing - first_missing)


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """Format and stored pixel size of an image, with its EXIF-style orientation (1..8)."""

    format: str
    width: int
    height: int
    orientation: int = 1

    @property
    def displayed_width(self) -> int:
        """Width after applying the orientation (orientations 5..8 swap the axes)."""
        return self.height if self.orientation >= 5 else self.width

    @property
    def displayed_height(self) -> int:
        """Height after applying the orientation (orientations 5..8 swap the axes)."""
        return self.width if self.orientation >= 5 else self.height


_FORMAT_NAMES: Final = MappingProxyType(
    {
        "jpeg": "JPEG",
        "png": "PNG",
        "gif": "GIF",
        "webp": "WebP",
        "bmp": "BMP",
        "tiff": "TIFF",
        "ico": "ICO",
        "isobmff": "AVIF/HEIF",
        "svg": "SVG",
    }
)


def parse(view: ByteView) -> ImageHeader:
    """Parse the image header held (partly) in ``view``.

    Raises NeedBytes for bytes it needs, NotAnImage when the bytes are no known image format and
    CorruptImage when a recognised format's header is broken or the file is too short for it.
    """
    kind = _sniff(view)
    parser = _PARSERS[kind]
    try:
        header = parser(view)
    except TruncatedImage as exc:
        raise TruncatedImage(f"{_FORMAT_NAMES[kind]} header is {exc}") from None
    _check_size(header)
    return header


def _check_size(header: ImageHeader) -> None:
    name = _FORMAT_NAMES.get(header.format, header.format.upper())
    if header.width <= 0 or header.height <= 0:
        _corrupt(f"{name} has an empty pixel size {header.width}x{header.height}")
    if header.width > _MAX_DIMENSION or header.height > _MAX_DIMENSION:
        _corrupt(f"{name} has an implausible pixel size {header.width}x{header.height}")


def _corrupt(message: str) -> NoReturn:
    raise CorruptImage(message)


def _u16be(b: bytes, at: int = 0) -> int:
    return int.from_bytes(b[at : at + 2], "big")


def _u32be(b: bytes, at: int = 0) -> int:
    return int.from_bytes(b[at : at + 4], "big")


def _u16le(b: bytes, at: int = 0) -> int:
    return int.from_bytes(b[at : at + 2], "little")


def _u32le(b: bytes, at: int = 0) -> int:
    return int.from_bytes(b[at : at + 4], "little")


# --------------------------------------------------------------------------------------------
# Sniffing


_OTHER_FORMATS: Final = (
    (b"%PDF-", "a PDF document"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image, which browsers do not show"),
    (b"\xff\x0a", "a JPEG XL image, which most browsers do not show"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "a JPEG XL image, which most browsers do not show"),
    (b"8BPS", "a Photoshop document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x00\x00\x02\x00", "a Windows cursor (CUR)"),
)


def _head(view: ByteView, length: int) -> bytes:
    """The first ``length`` bytes, or the whole file when it is shorter."""
    if view.total_size is not None:
        length = min(length, view.total_size)
    return view.read(0, length)


def _sniff(view: ByteView) -> str:
    head = _head(view, _SNIFF_BYTES)
    if not head:
        raise NotAnImage("the response body is empty")
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[4:8] == b"ftyp":
        return "isobmff"
    if head[:2] == b"BM" and len(head) >= 18 and _u32le(head, 14) in _BMP_HEADER_SIZES:
        return "bmp"
    if head[:4] == b"\x00\x00\x01\x00" and len(head) >= 6 and _u16le(head, 4) > 0:
        return "ico"
    if head[:2] == b"\x1f\x8b":
        raise NotAnImage(
            "the body is gzip-compressed (1f 8b): it must be decompressed before parsing"
        )
    for magic, what in _OTHER_FORMATS:
        if head.startswith(magic):
            raise NotAnImage(f"the body is {what}")
    return _sniff_text(view)


_BOMS: Final = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_PROLOG_RE: Final = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_HTML_RE: Final = re.compile(r"<!doctype\s+html\b|<(?:html|head|body)\b", re.IGNORECASE)


def _decode_start(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    return data.decode("utf-8", errors="replace")


def _need_text(view: ByteView, held: int) -> NeedBytes:
    """The next chunk of a text document after its first ``held`` bytes."""
    remaining = _SVG_CHUNK if view.total_size is None else view.total_size - held
    return NeedBytes(held, min(_SVG_CHUNK, remaining))


def _sniff_text(view: ByteView) -> str:
    prefix = view.contiguous_prefix()[:4096]
    text = _decode_start(prefix)
    start = _PROLOG_RE.match(text)
    rest = text[start.end() if start else 0 :]
    if _HTML_RE.match(rest):
        raise NotAnImage("the body is an HTML page, not an image")
    if rest[:1] in ("{", "["):
        raise NotAnImage("the body looks like JSON, not an image")
    if rest.startswith("<"):
        return "svg"
    if not rest and len(prefix) < 4096 and view.total_size != len(prefix):
        raise _need_text(view, len(prefix))
    sample = prefix[:8].hex(" ")
    raise NotAnImage(f"unknown format: no image signature (first bytes: {sample})")


# --------------------------------------------------------------------------------------------
# JPEG

_JPEG_SOF: Final = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
_JPEG_STANDALONE: Final = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})


def _parse_jpeg(view: ByteView) -> ImageHeader:
    """Walk the marker segments from SOI to the first SOF, reading only segment headers."""
    pos = 2
    orientation: int | None = None
    for _ in range(_MAX_JPEG_SEGMENTS):
        marker, pos = _jpeg_next_marker(view, pos)
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9:
            _corrupt("JPEG ends (EOI marker) before any frame header (SOF)")
        if marker == 0xDA:
            _corrupt("JPEG image data (SOS) starts before any frame header (SOF)")
        length = _u16be(view.read(pos, 2))
        if length < 2:
            _corrupt(f"JPEG segment FF{marker:02X} at offset {pos - 2} has invalid length {length}")
        if marker in _JPEG_SOF:
            return _jpeg_frame(view, pos, length, orientation or 1)
        if marker == 0xE1 and orientation is None and length >= 16:
            orientation = _jpeg_exif_orientation(view, pos + 2, length - 2)
        pos += length
    _corrupt(f"JPEG has more than {_MAX_JPEG_SEGMENTS} segments before its frame header (SOF)")


def _jpeg_next_marker(view: ByteView, pos: int) -> tuple[int, int]:
    """Return (marker, offset after it), skipping junk and 0xFF fill bytes as libjpeg does."""
    start = pos
    after_ff = False
    while pos - start <= _MAX_JPEG_JUNK:
        chunk = _scan_chunk(view, pos)
        if after_ff:
            rest = chunk.lstrip(b"\xff")
            pos += len(chunk) - len(rest)
            if not rest:
                continue
            pos += 1
            if rest[0] != 0x00:
                return rest[0], pos
            after_ff = False
            continue
        ff = chunk.find(b"\xff")
        if ff < 0:
            pos += len(chunk)
            continue
        pos += ff + 1
        after_ff = True
    _corrupt(f"JPEG has no marker in the {_MAX_JPEG_JUNK} bytes after offset {start}")


def _scan_chunk(view: ByteView, pos: int) -> bytes:
    """Held bytes at ``pos`` for a forward scan, or NeedBytes for a scan-sized range."""
    chunk = view.available(pos, _SCAN_CHUNK)
    if chunk:
        return chunk
    length = _SCAN_CHUNK
    if view.total_size is not None:
        length = max(1, min(_SCAN_CHUNK, view.total_size - pos))
    return view.read(pos, length)


def _jpeg_frame(view: ByteView, pos: int, length: int, orientation: int) -> ImageHeader:
    if length < 8:
        _corrupt(f"JPEG frame header (SOF) at offset {pos - 2} is too short ({length} bytes)")
    frame = view.read(pos + 2, 5)
    height, width = _u16be(frame, 1), _u16be(frame, 3)
    if height == 0:
        _corrupt("JPEG frame height is 0 (a height defined later by DNL is not supported)")
    return ImageHeader("jpeg", width, height, orientation)


def _jpeg_exif_orientation(view: ByteView, start: int, size: int) -> int | None:
    """Orientation from an APP1 Exif payload; None when APP1 is not Exif (e.g. XMP)."""
    if view.read(start, 6) != b"Exif\x00\x00":
        return None
    base, limit = start + 6, size - 6

    def read(offset: int, length: int) -> bytes:
        if offset + length > limit:
            raise _BadTiff
        return view.read(base + offset, length)

    try:
        return _tiff_orientation(read)
    except _BadTiff:
        return 1


# --------------------------------------------------------------------------------------------
# TIFF (files and the Exif block inside JPEG APP1)


class _BadTiff(Exception):
    """A TIFF structure is inconsistent; inside Exif this is ignored, in a TIFF file fatal."""


@dataclass(frozen=True)
class _TiffLayout:
    order: str
    big: bool

    @property
    def entry_size(self) -> int:
        return 20 if self.big else 12

    @property
    def count_size(self) -> int:
        return 8 if self.big else 2

    def uint(self, data: bytes) -> int:
        return int.from_bytes(data, "little" if self.order == "II" else "big")


_TIFF_INT_WIDTHS: Final = MappingProxyType({3: 2, 4: 4, 16: 8})
_TIFF_WIDTH, _TIFF_HEIGHT, _TIFF_ORIENTATION = 256, 257, 274


def _tiff_header(read: Callable[[int, int], bytes]) -> tuple[_TiffLayout, int]:
    head = read(0, 8)
    order = head[:2].decode("latin-1")
    if order not in ("II", "MM"):
        raise _BadTiff("bad byte order mark")
    layout = _TiffLayout(order, big=False)
    version = layout.uint(head[2:4])
    if version == 42:
        return layout, layout.uint(head[4:8])
    if version == 43:
        layout = _TiffLayout(order, big=True)
        rest = read(8, 8)
        if layout.uint(head[4:6]) != 8:
            raise _BadTiff("unsupported BigTIFF offset size")
        return layout, layout.uint(rest)
    raise _BadTiff(f"bad version {version}")


def _tiff_ifd(
    read: Callable[[int, int], bytes], layout: _TiffLayout, ifd: int, wanted: frozenset[int]
) -> dict[int, int]:
    """Inline SHORT/LONG values of the ``wanted`` single-valued tags of the IFD at ``ifd``."""
    if ifd < 8:
        raise _BadTiff(f"IFD offset {ifd} points into the header")
    count = layout.uint(read(ifd, layout.count_size))
    if count == 0 or count > _MAX_IFD_ENTRIES:
        raise _BadTiff(f"IFD at offset {ifd} has {count} entries")
    entries = read(ifd + layout.count_size, count * layout.entry_size)
    values: dict[int, int] = {}
    value_at = 12 if layout.big else 8
    for i in range(0, len(entries), layout.entry_size):
        entry = entries[i : i + layout.entry_size]
        tag, kind = layout.uint(entry[0:2]), layout.uint(entry[2:4])
        if tag not in wanted or tag in values:
            continue
        width = _TIFF_INT_WIDTHS.get(kind)
        if width is None or layout.uint(entry[4:value_at]) != 1:
            continue
        values[tag] = layout.uint(entry[value_at : value_at + width])
    return values


def _tiff_orientation(read: Callable[[int, int], bytes]) -> int:
    layout, ifd = _tiff_header(read)
    value = _tiff_ifd(read, layout, ifd, frozenset({_TIFF_ORIENTATION})).get(_TIFF_ORIENTATION, 1)
    return value if 1 <= value <= 8 else 1


def _parse_tiff(view: ByteView) -> ImageHeader:
    wanted = frozenset({_TIFF_WIDTH, _TIFF_HEIGHT, _TIFF_ORIENTATION})
    try:
        layout, ifd = _tiff_header(view.read)
        if view.total_size is not None and ifd >= view.total_size:
            raise _BadTiff(f"first IFD offset {ifd} is past the end of the file")
        values = _tiff_ifd(view.read, layout, ifd, wanted)
    except _BadTiff as exc:
        _corrupt(f"TIFF header is broken: {exc}")
    if _TIFF_WIDTH not in values or _TIFF_HEIGHT not in values:
        _corrupt("TIFF first image has no ImageWidth/ImageLength tags")
    orientation = values.get(_TIFF_ORIENTATION, 1)
    return ImageHeader(
        "tiff",
        values[_TIFF_WIDTH],
        values[_TIFF_HEIGHT],
        orientation if 1 <= orientation <= 8 else 1,
    )


# --------------------------------------------------------------------------------------------
# PNG / APNG


def _parse_png(view: ByteView) -> ImageHeader:
    """IHDR gives the size; chunks are walked up to the first IDAT to spot an APNG acTL."""
    ihdr = view.read(8, 25)
    if ihdr[4:8] == b"CgBI":
        _corrupt(
            "PNG is Apple's CgBI variant (first chunk CgBI, not IHDR): browsers cannot show it"
        )
    if ihdr[4:8] != b"IHDR" or _u32be(ihdr) != 13:
        _corrupt("PNG does not start with an IHDR chunk")
    width, height = _u32be(ihdr, 8), _u32be(ihdr, 12)
    pos = 8 + 12 + 13
    for _ in range(_MAX_PNG_CHUNKS):
        chunk = view.read(pos, 8)
        length, kind = _u32be(chunk), chunk[4:8]
        if length > 0x7FFFFFFF:
            _corrupt(f"PNG chunk at offset {pos} has an invalid length {length}")
        if kind == b"acTL":
            return ImageHeader("apng", width, height)
        if kind == b"IDAT":
            return ImageHeader("png", width, height)
        if kind == b"IEND":
            _corrupt("PNG has no image data (IEND before any IDAT)")
        pos += 12 + length
    _corrupt(f"PNG has more than {_MAX_PNG_CHUNKS} chunks before its image data")


# --------------------------------------------------------------------------------------------
# GIF, WebP, BMP, ICO


def _parse_gif(view: ByteView) -> ImageHeader:
    screen = view.read(6, 4)
    return ImageHeader("gif", _u16le(screen), _u16le(screen, 2))


def _parse_webp(view: ByteView) -> ImageHeader:
    chunk = view.read(12, 8)
    kind = chunk[:4]
    if kind == b"VP8 ":
        frame = view.read(20, 10)
        if frame[3:6] != b"\x9d\x01\x2a":
            _corrupt("WebP VP8 frame has no key-frame start code 9D 01 2A")
        return ImageHeader("webp", _u16le(frame, 6) & 0x3FFF, _u16le(frame, 8) & 0x3FFF)
    if kind == b"VP8L":
        frame = view.read(20, 5)
        if frame[0] != 0x2F:
            _corrupt("WebP VP8L bitstream has no 0x2F signature")
        bits = _u32le(frame, 1)
        return ImageHeader("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8X":
        ext = view.read(20, 10)
        width = int.from_bytes(ext[4:7], "little") + 1
        height = int.from_bytes(ext[7:10], "little") + 1
        return ImageHeader("webp", width, height)
    _corrupt(f"WebP first chunk is {kind!r}, not VP8, VP8L or VP8X")


_BMP_HEADER_SIZES: Final = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def _parse_bmp(view: ByteView) -> ImageHeader:
    head = view.read(14, 12)
    if _u32le(head) == 12:
        return ImageHeader("bmp", _u16le(head, 4), _u16le(head, 6))
    width, height = struct.unpack("<ii", head[4:12])
    if width < 0:
        _corrupt(f"BMP has a negative width {width}")
    return ImageHeader("bmp", width, abs(height))


def _parse_ico(view: ByteView) -> ImageHeader:
    count = _u16le(view.read(4, 2))
    if count > _MAX_ICO_ENTRIES:
        _corrupt(f"ICO claims {count} images, more than {_MAX_ICO_ENTRIES}")
    entries = view.read(6, 16 * count)
    sizes = [(entries[i] or 256, entries[i + 1] or 256) for i in range(0, len(entries), 16)]
    width, height = max(sizes, key=lambda wh: (wh[0] * wh[1], wh[0]))
    return ImageHeader("ico", width, height)


# --------------------------------------------------------------------------------------------
# ISO-BMFF: AVIF and HEIC

_AVIF_BRANDS: Final = frozenset({b"avif", b"avis", b"avio", b"MA1A", b"MA1B"})
_HEIC_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
)
_HEIF_BRANDS: Final = frozenset({b"mif1", b"msf1", b"mif2", b"miaf"})
_AVIF_ITEMS: Final = frozenset({b"av01"})
_HEIC_ITEMS: Final = frozenset({b"hvc1", b"hev1"})

_MATRIX_TO_EXIF: Final = MappingProxyType(
    {
        (1, 0, 0, 1): 1,
        (-1, 0, 0, 1): 2,
        (-1, 0, 0, -1): 3,
        (1, 0, 0, -1): 4,
        (0, 1, 1, 0): 5,
        (0, -1, 1, 0): 6,
        (0, -1, -1, 0): 7,
        (0, 1, -1, 0): 8,
    }
)
_ROTATE_CCW: Final = (0, 1, -1, 0)
_FLIP_TOP_BOTTOM: Final = (1, 0, 0, -1)
_FLIP_LEFT_RIGHT: Final = (-1, 0, 0, 1)


@dataclass(frozen=True)
class _Box:
    kind: bytes
    start: int
    header: int
    size: int | None

    @property
    def payload(self) -> int:
        return self.start + self.header

    @property
    def end(self) -> int | None:
        return None if self.size is None else self.start + self.size


def _read_box(view: ByteView, pos: int, end: int | None) -> _Box:
    """The box header at ``pos``; ``size`` None means "to the end of the file"."""
    head = view.read(pos, 8)
    size, kind = _u32be(head), head[4:8]
    header = 8
    if size == 1:
        size = int.from_bytes(view.read(pos + 8, 8), "big")
        header = 16
    if size == 0:
        return _Box(kind, pos, header, None if end is None else end - pos)
    if size < header:
        _corrupt(f"ISO-BMFF box {kind!r} at offset {pos} has an invalid size {size}")
    if end is not None and pos + size > end:
        _corrupt(
            f"ISO-BMFF box {kind!r} at offset {pos} claims {size} bytes, past the end of its "
            f"container at {end} (truncated file?)"
        )
    return _Box(kind, pos, header, size)


def _parse_isobmff(view: ByteView) -> ImageHeader:
    ftyp = _read_box(view, 0, view.total_size)
    if ftyp.size is None or ftyp.size < 16 or ftyp.size > 4096:
        _corrupt("ISO-BMFF ftyp box has an invalid size")
    body = view.read(8, ftyp.size - 8)
    brands = [body[0:4]] + [body[i : i + 4] for i in range(8, len(body) - 3, 4)]
    if not set(brands) & (_AVIF_BRANDS | _HEIC_BRANDS | _HEIF_BRANDS):
        name = body[0:4].decode("latin-1")
        raise NotAnImage(f"ISO-BMFF file with brand {name!r} is not a still image (video?)")
    meta = _find_top_box(view, ftyp.size, b"meta")
    props = _read_meta(view, meta)
    fmt = _heif_format(brands, props.item_types)
    width, height = props.size
    return ImageHeader(fmt, width, height, props.orientation)


def _find_top_box(view: ByteView, pos: int, kind: bytes) -> _Box:
    """Walk top-level boxes by their sizes (skipping e.g. a huge mdat) to the box ``kind``."""
    total = view.total_size
    for _ in range(_MAX_BOXES):
        if total is not None and pos >= total:
            break
        box = _read_box(view, pos, total)
        if box.kind == kind:
            return box
        if box.end is None:
            break
        pos = box.end
    _corrupt(f"AVIF/HEIF file has no {kind.decode()} box with the image properties")


@dataclass(frozen=True)
class _HeifProps:
    size: tuple[int, int]
    orientation: int
    item_types: tuple[bytes, ...]


def _read_meta(view: ByteView, meta: _Box) -> _HeifProps:
    """Read pitm, iinf and iprp of the meta box, skipping its other children."""
    children: dict[bytes, bytes] = {}
    pos = meta.payload + 4
    end = meta.end
    for _ in range(_MAX_BOXES):
        if end is not None and pos >= end:
            break
        box = _read_box(view, pos, end)
        if box.kind in (b"pitm", b"iinf", b"iprp") and box.kind not in children:
            length = (box.size or 0) - box.header
            if box.size is None or length > _MAX_META_CHILD:
                _corrupt(f"AVIF/HEIF {box.kind.decode()} box is implausibly large")
            children[box.kind] = view.read(box.payload, length)
            if len(children) == 3:
                break
        if box.end is None:
            break
        pos = box.end
    if b"pitm" not in children or b"iprp" not in children:
        _corrupt("AVIF/HEIF meta box lacks the primary item (pitm) or its properties (iprp)")
    primary = _parse_pitm(children[b"pitm"])
    item_types = _parse_iinf(children.get(b"iinf", b""), primary)
    size, orientation = _parse_iprp(children[b"iprp"], primary)
    return _HeifProps(size, orientation, item_types)


def _heif_format(brands: list[bytes], item_types: tuple[bytes, ...]) -> str:
    """The major brand decides, then compatible brands, then the primary (or any) item's codec."""
    for brand in brands:
        if brand in _AVIF_BRANDS:
            return "avif"
        if brand in _HEIC_BRANDS:
            return "heic"
    for item_type in item_types:
        if item_type in _AVIF_ITEMS:
            return "avif"
        if item_type in _HEIC_ITEMS:
            return "heic"
    return "heic"


def _children(data: bytes, start: int = 0) -> list[tuple[bytes, bytes]]:
    """Child boxes of an in-memory box payload, as (type, payload) pairs."""
    out: list[tuple[bytes, bytes]] = []
    pos = start
    while pos + 8 <= len(data) and len(out) < _MAX_BOXES:
        size, kind = _u32be(data, pos), data[pos + 4 : pos + 8]
        header = 8
        if size == 1 and pos + 16 <= len(data):
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:
            size = len(data) - pos
        if size < header or pos + size > len(data):
            _corrupt(f"AVIF/HEIF box {kind!r} has an invalid size {size}")
        out.append((kind, data[pos + header : pos + size]))
        pos += size
    return out


def _parse_pitm(data: bytes) -> int:
    if len(data) < 6:
        _corrupt("AVIF/HEIF pitm box is too short")
    return _u16be(data, 4) if data[0] == 0 else _u32be(data, 4)


def _parse_iinf(data: bytes, primary: int) -> tuple[bytes, ...]:
    """Item types with the primary item's first; empty if iinf is absent or unreadable."""
    if len(data) < 6:
        return ()
    start = 6 if data[0] == 0 else 8
    types: list[bytes] = []
    for kind, infe in _children(data, start):
        if kind != b"infe" or len(infe) < 4 or infe[0] < 2:
            continue
        item_id, at = (_u16be(infe, 4), 8) if infe[0] == 2 else (_u32be(infe, 4), 10)
        item_type = infe[at : at + 4]
        if item_id == primary:
            types.insert(0, item_type)
        else:
            types.append(item_type)
    return tuple(types)


def _parse_iprp(data: bytes, primary: int) -> tuple[tuple[int, int], int]:
    """Size (ispe) and EXIF-equivalent orientation (irot, imir) of the primary item."""
    properties: list[tuple[bytes, bytes]] = []
    associations: list[int] = []
    for kind, payload in _children(data):
        if kind == b"ipco" and not properties:
            properties = _children(payload)
        elif kind == b"ipma":
            associations += _parse_ipma(payload, primary)
    size: tuple[int, int] | None = None
    matrix = (1, 0, 0, 1)
    for index in associations:
        if not 1 <= index <= len(properties):
            continue
        kind, payload = properties[index - 1]
        if kind == b"ispe" and size is None and len(payload) >= 12:
            size = (_u32be(payload, 4), _u32be(payload, 8))
        elif kind == b"irot" and payload:
            for _ in range(payload[0] & 3):
                matrix = _matmul(_ROTATE_CCW, matrix)
        elif kind == b"imir" and payload:
            flip = _FLIP_LEFT_RIGHT if payload[0] & 1 else _FLIP_TOP_BOTTOM
            matrix = _matmul(flip, matrix)
    if size is None:
        _corrupt("AVIF/HEIF primary item has no image size property (ispe)")
    return size, _MATRIX_TO_EXIF[matrix]


def _matmul(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, int, int, int]:
    return (
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
    )


def _parse_ipma(data: bytes, primary: int) -> list[int]:
    """1-based property indices associated with the primary item, in their stated order."""
    if len(data) < 8:
        return []
    version, flags = data[0], _u32be(data) & 0xFFFFFF
    count = _u32be(data, 4)
    pos = 8
    id_size = 2 if version == 0 else 4
    assoc_size = 2 if flags & 1 else 1
    for _ in range(min(count, 1 << 16)):
        if pos + id_size + 1 > len(data):
            break
        item_id = int.from_bytes(data[pos : pos + id_size], "big")
        n = data[pos + id_size]
        pos += id_size + 1
        raw = data[pos : pos + n * assoc_size]
        pos += n * assoc_size
        if item_id == primary:
            mask = 0x7FFF if assoc_size == 2 else 0x7F
            return [
                int.from_bytes(raw[i : i + assoc_size], "big") & mask
                for i in range(0, len(raw), assoc_size)
            ]
    return []


# --------------------------------------------------------------------------------------------
# SVG

_SVG_NAMESPACE: Final = "http://www.w3.org/2000/svg"
_CSS_UNITS: Final = MappingProxyType(
    {
        "": 1.0,
        "px": 1.0,
        "pt": 4 / 3,
        "pc": 16.0,
        "mm": 96 / 25.4,
        "cm": 96 / 2.54,
        "in": 96.0,
        "q": 96 / 101.6,
        "em": 16.0,
        "rem": 16.0,
        "ex": 8.0,
    }
)
_LENGTH_RE: Final = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*|%)\s*")
_DEFAULT_SVG_SIZE: Final = (300, 150)


class _RootFound(Exception):
    def __init__(self, name: str, attributes: dict[str, str]) -> None:
        super().__init__(name)
        self.name = name
        self.attributes = attributes


class _Refused(Exception):
    pass


def _svg_root(data: bytes, final: bool) -> _RootFound | None:
    """Feed ``data`` to a locked-down expat parser; return the root element once seen.

    Entity declarations, external entities and DTD fetching are refused, so no expansion and no
    network access can happen; parsing stops at the root start tag.
    """
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    doctype: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        raise _RootFound(name, attributes)

    def entity_decl(*_args: Any) -> None:
        raise _Refused("entity")

    def external_ref(*_args: Any) -> int:
        raise _Refused("external")

    def start_doctype(name: str, *_args: Any) -> None:
        doctype.append(name)

    parser.StartElementHandler = start
    parser.EntityDeclHandler = entity_decl
    parser.UnparsedEntityDeclHandler = entity_decl
    parser.ExternalEntityRefHandler = external_ref
    parser.StartDoctypeDeclHandler = start_doctype
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, final)
    except _RootFound as root:
        return root
    except _Refused:
        name = doctype[0].rpartition(":")[2] if doctype else ""
        message = "XML declares entities, which are refused (no entity expansion)"
        if name == "svg":
            _corrupt(f"SVG {message}")
        raise NotAnImage(message) from None
    except (xml.parsers.expat.ExpatError, LookupError, ValueError) as exc:
        # ValueError: expat refuses a declared multi-byte encoding it lacks (encoding="utf-32").
        _svg_syntax_error(data, exc)
    return None


_FIRST_TAG_RE: Final = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def _svg_syntax_error(data: bytes, exc: Exception) -> NoReturn:
    tag = _FIRST_TAG_RE.search(data)
    if tag and tag.group(1).rpartition(b":")[2] == b"svg":
        _corrupt(f"SVG is not well-formed XML: {exc}")
    raise NotAnImage(f"the body is text that is not well-formed XML ({exc})") from None


def _parse_svg(view: ByteView) -> ImageHeader:
    prefix = view.contiguous_prefix()
    complete = view.total_size is not None and len(prefix) >= view.total_size
    root = _svg_root(prefix[:_MAX_SVG_BYTES], complete and len(prefix) <= _MAX_SVG_BYTES)
    if root is None:
        if len(prefix) >= _MAX_SVG_BYTES:
            _corrupt(f"SVG has no root element within its first {_MAX_SVG_BYTES} bytes")
        if complete:
            raise NotAnImage("the body is XML without a root element")
        raise _need_text(view, len(prefix))
    namespace, _, local = root.name.rpartition(" ")
    if local != "svg" or namespace not in ("", _SVG_NAMESPACE):
        shown = f"{{{namespace}}}{local}" if namespace else local
        raise NotAnImage(f"the body is XML whose root element is <{shown}>, not <svg>")
    width, height = _svg_size(root.attributes)
    return ImageHeader("svg", width, height)


def _svg_length(value: str | None) -> float | None:
    """A CSS length in px; None for absent, percentage, 'auto' or unparsable values."""
    if value is None:
        return None
    match = _LENGTH_RE.fullmatch(value)
    if not match:
        return None
    unit = match.group(2).lower()
    if unit not in _CSS_UNITS:
        return None
    number = float(match.group(1)) * _CSS_UNITS[unit]
    if not math.isfinite(number):
        return None
    if number <= 0:
        _corrupt(f"SVG has a non-positive size attribute {value!r}")
    return number


def _svg_viewbox(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        numbers = [float(p) for p in value.replace(",", " ").split()]
    except ValueError:
        return None
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        return None
    if numbers[2] <= 0 or numbers[3] <= 0:
        return None
    return numbers[2], numbers[3]


def _svg_size(attributes: dict[str, str]) -> tuple[int, int]:
    """Intrinsic size as a browser computes it for <img>, falling back to 300x150."""
    width = _svg_length(attributes.get("width"))
    height = _svg_length(attributes.get("height"))
    viewbox = _svg_viewbox(attributes.get("viewBox"))
    if viewbox is not None:
        ratio = viewbox[0] / viewbox[1]
        if width is None and height is None:
            width, height = viewbox
        elif height is None and width is not None:
            height = width / ratio
        elif width is None and height is not None:
            width = height * ratio
    default_w, default_h = _DEFAULT_SVG_SIZE
    return (
        _round_px(width) if width is not None else default_w,
        _round_px(height) if height is not None else default_h,
    )


def _round_px(value: float) -> int:
    return max(1, min(_MAX_DIMENSION + 1, math.floor(value + 0.5)))


# --------------------------------------------------------------------------------------------
# Trailer checks

_PADDING: Final = b"\x00\r\n\t \x1a"
_PNG_IEND: Final = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def check_trailer(header: ImageHeader, view: ByteView) -> str | None:
    """Whether the file ends as its format requires: None if so, else a human message.

    ``view.total_size`` must be set and the last :data:`TRAILER_BYTES` bytes present (else
    NeedBytes). Only JPEG, PNG/APNG, GIF and WebP can be judged; other formats give None.
    """
    total = view.total_size
    if total is None:
        raise ValueError("check_trailer needs view.total_size")
    if header.format == "webp":
        riff_size = _u32le(view.read(4, 4))
        if riff_size + 8 > total:
            return (
                f"WebP RIFF header announces {riff_size + 8} bytes but the file has {total}: "
                "the file looks truncated"
            )
        if riff_size + 8 < total:
            return f"WebP has {total - riff_size - 8} unexpected bytes after its RIFF data"
        return None
    n = min(TRAILER_BYTES, total)
    tail = view.read(total - n, n).rstrip(_PADDING)
    if header.format == "jpeg" and not tail.endswith(b"\xff\xd9"):
        return "JPEG does not end with the EOI marker FFD9: the file looks truncated"
    if header.format in ("png", "apng") and not tail.endswith(_PNG_IEND):
        return "PNG does not end with the IEND chunk: the file looks truncated"
    if header.format == "gif" and not tail.endswith(b"\x3b"):
        return "GIF does not end with the trailer byte 0x3B: the file looks truncated"
    return None


_PARSERS: Final[Mapping[str, Callable[[ByteView], ImageHeader]]] = MappingProxyType(
    {
        "jpeg": _parse_jpeg,
        "png": _parse_png,
        "gif": _parse_gif,
        "webp": _parse_webp,
        "bmp": _parse_bmp,
        "tiff": _parse_tiff,
        "ico": _parse_ico,
        "isobmff": _parse_isobmff,
        "svg": _parse_svg,
    }
)
