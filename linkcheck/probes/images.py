"""Judging an image URL from its header bytes: a small Range first, targeted follow-ups.

The first request asks for ``bytes=0-N``; the structure-walking parser in
:mod:`linkcheck.probes.image_header` either finds the size or names the exact bytes
it needs next, which at most three follow-up Range requests fetch. A server
that ignores Range is read as a stream that stops the moment the size is
known, except that a small file (:data:`WHOLE_READ_MAX_BYTES`) is read to its end
so that ``--verify-images tail`` can still check it. Integrity (``tail``) costs one
suffix Range request; ``full`` downloads and decodes within the bounds below.

Everything a server sends is untrusted: Content-Range and Content-Length are parsed
strictly, and :meth:`ImageProber.probe` turns any surprise into the image's verdict.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import httpx

from linkcheck.model.reasons import Reason
from linkcheck.model.records import ImageFacts, Integrity, Outcome
from linkcheck.net.fetch import Fetched, body_chunks
from linkcheck.net.headers import content_length, content_range
from linkcheck.probes import image_header as header_parser
from linkcheck.probes.image_header import ByteView, CorruptImage, ImageHeader, NeedBytes, NotAnImage

if TYPE_CHECKING:
    from linkcheck.model.config import Config
    from linkcheck.net.fetch import BodyReader, Fetcher

log = logging.getLogger("linkcheck")

MAX_FOLLOW_UPS = 3

#: Without Range, a file whose body ends within this many bytes is read to its end so
#: that ``tail`` can check it; larger ones are left ``not_checked`` with
#: :data:`END_NOT_CHECKED` in their notes. See docs/image-parser.md for the budget.
WHOLE_READ_MAX_BYTES: Final = 64 * 1024

#: ``full`` decodes at most this many pixels (stored width x height), checked from the
#: header before any download: a decoded RGBA image of this size takes about 200 MB.
MAX_DECODE_PIXELS: Final = 50_000_000

#: ``full`` downloads at most this many bytes (and never more than max_response_bytes).
MAX_DECODE_BYTES: Final = 32 * 1024 * 1024

#: ``full`` downloads in flight per prober: with MAX_DECODE_BYTES they bound the
#: downloaded bytes held at once (about 2x while a body is joined).
MAX_FULL_DOWNLOADS: Final = 4

#: Notes an image can carry; fixed texts, so a summary can count them.
END_NOT_CHECKED: Final = (
    "the server ignores Range and the file is too large to read whole, so its end was not checked"
)
END_NOT_FETCHED: Final = "the file's end could not be fetched"
FULL_DOWNLOAD_FAILED: Final = "the full download failed"

#: Our format -> (the Pillow format opened, the formats Pillow may report for it).
#: Only these are ever decoded: Pillow never guesses among its other plugins (EPS would
#: run Ghostscript, DDS raises NotImplementedError).
DECODERS: Final = MappingProxyType(
    {
        "jpeg": ("JPEG", frozenset({"JPEG", "MPO"})),
        "png": ("PNG", frozenset({"PNG"})),
        "apng": ("PNG", frozenset({"PNG"})),
        "gif": ("GIF", frozenset({"GIF"})),
        "webp": ("WEBP", frozenset({"WEBP"})),
        "bmp": ("BMP", frozenset({"BMP"})),
        "tiff": ("TIFF", frozenset({"TIFF"})),
        "ico": ("ICO", frozenset({"ICO"})),
        "avif": ("AVIF", frozenset({"AVIF"})),
    }
)

_MESSAGE_CHARS: Final = 200


@dataclass(frozen=True, slots=True)
class ImageProbe:
    """What the image URL showed: a header, or why there is none, and what it cost."""

    header: ImageHeader | None = None
    problem: Reason | None = None
    message: str = ""
    content_type: str | None = None
    requests: int = 0
    bytes_read: int = 0
    range_honoured: bool | None = None
    total_bytes: int | None = None
    integrity: str = "not_checked"
    notes: tuple[str, ...] = field(default=())

    @property
    def format(self) -> str | None:
        return self.header.format if self.header else None

    def facts(self) -> ImageFacts:
        """The probe as the frozen record that outcomes carry."""
        header = self.header
        return ImageFacts(
            format=header.format if header else None,
            width=header.width if header else None,
            height=header.height if header else None,
            displayed_width=header.displayed_width if header else None,
            displayed_height=header.displayed_height if header else None,
            orientation=header.orientation if header else None,
            problem=self.problem,
            message=self.message,
            content_type=self.content_type,
            requests=self.requests,
            bytes_read=self.bytes_read,
            range_honoured=self.range_honoured,
            total_bytes=self.total_bytes,
            integrity=Integrity(self.integrity),
            notes=self.notes,
        )


@dataclass(slots=True)
class _Piece:
    """The bytes one response gave, where they sit in the file, and what it said of the file.

    ``unframed`` marks a 206 without a usable Content-Range: its bytes are taken to start
    at 0, but how much of the file they are is unknown.
    """

    status: int
    start: int = 0
    data: bytes = b""
    total: int | None = None
    length: int | None = None
    ranged: bool = False
    unframed: bool = False
    complete: bool = False
    validator: str | None = None
    content_type: str | None = None
    encoded: bool = False


class ImageProber:
    """Probes image URLs through the run's fetcher, honouring the image settings of Config.

    It owns the bounds of ``--verify-images full``: at most one decode per CPU core and
    :data:`MAX_FULL_DOWNLOADS` full downloads in flight, whatever the run's concurrency.
    """

    def __init__(self, fetcher: Fetcher, config: Config) -> None:
        self.fetcher = fetcher
        self.config = config
        self._decodes = asyncio.Semaphore(_cores())
        self._downloads = asyncio.Semaphore(MAX_FULL_DOWNLOADS)

    async def probe(self, url: str) -> Outcome:
        """Fetch as few bytes as possible of ``url`` and judge them; never raises.

        Any unexpected exception becomes the outcome (reason ``internal``), so one image
        cannot stop the run; cancellation still propagates.
        """
        try:
            return await self._probe(url)
        except Exception as exc:
            log.debug("image probe of %s failed", url, exc_info=True)
            message = f"internal error: {_one_line(exc)}"
            facts = ImageFacts(problem=Reason.INTERNAL, message=message)
            return Fetched(url, error=Reason.INTERNAL, message=message).outcome(facts)

    async def _probe(self, url: str) -> Outcome:
        first_size = self.config.image_first_bytes
        whole = WHOLE_READ_MAX_BYTES if self.config.verify_images == "tail" else 0
        fetched = await self._get(url, {"Range": f"bytes=0-{first_size - 1}"}, whole=whole)
        piece = fetched.body
        if piece is not None and piece.unframed:
            piece.complete = False  # a part of the file, of unknown size
        if fetched.status == 416 or (piece is not None and _unusable(piece)):
            again = await self._get(fetched.final_url or url, None, whole=whole)
            _absorb(again, fetched)
            fetched, piece = again, again.body
        if piece is None:
            return _retyped(fetched, None)
        view = ByteView(piece.data, piece.start, piece.total if piece.ranged else None)
        if piece.complete and not piece.ranged:
            view.total_size = len(piece.data)
        probe = ImageProbe(
            content_type=piece.content_type,
            range_honoured=piece.ranged and not piece.encoded,
            total_bytes=piece.total,
        )
        final_url = fetched.final_url or url
        probe = await self._walk(final_url, view, piece, probe, fetched)
        if probe.header is not None and probe.problem is None:
            probe = await self._verify(final_url, view, piece, probe, fetched)
        probe = replace(probe, requests=fetched.requests, bytes_read=fetched.bytes_read)
        return _retyped(fetched, probe)

    async def _walk(
        self, url: str, view: ByteView, piece: _Piece, probe: ImageProbe, into: Fetched[_Piece]
    ) -> ImageProbe:
        """Parse, fetching what the parser names, at most MAX_FOLLOW_UPS times.

        The last follow-up asks for everything from the needed offset on and is
        read only until the header is settled, so a file with many metadata
        segments (a split ICC profile, say) costs one stream, not one request each.
        """
        for follow_up in range(MAX_FOLLOW_UPS + 1):
            try:
                return replace(probe, header=header_parser.parse(view))
            except NotAnImage as exc:
                return replace(probe, problem=Reason.NOT_IMAGE, message=_not_image(exc, view))
            except CorruptImage as exc:
                return replace(probe, problem=Reason.CORRUPT_IMAGE, message=str(exc))
            except NeedBytes as need:
                if not (piece.ranged and not piece.encoded) or follow_up == MAX_FOLLOW_UPS:
                    return replace(
                        probe,
                        problem=Reason.CORRUPT_IMAGE,
                        message=_gave_up(need, piece, self.config),
                    )
                if follow_up == MAX_FOLLOW_UPS - 1:
                    more = await self._onward(url, need.offset, view, piece.validator, into)
                else:
                    size = max(need.length, header_parser.FOLLOW_UP_BYTES)
                    spec = f"bytes={need.offset}-{need.offset + size - 1}"
                    more = await self._range(url, spec, size, piece.validator, into)
                if more is None:
                    return replace(
                        probe,
                        problem=Reason.CORRUPT_IMAGE,
                        message=f"a follow-up request for bytes at {need.offset} failed",
                    )
                view.add(more.start, more.data)
        raise AssertionError("unreachable")

    async def _verify(
        self, url: str, view: ByteView, piece: _Piece, probe: ImageProbe, into: Fetched[_Piece]
    ) -> ImageProbe:
        mode = self.config.verify_images
        if mode == "header":
            return probe
        if mode == "full":
            return await self._decode_fully(url, view, piece, probe, into)
        return await self._check_end(url, view, piece, probe, into)

    async def _check_end(
        self, url: str, view: ByteView, piece: _Piece, probe: ImageProbe, into: Fetched[_Piece]
    ) -> ImageProbe:
        """``tail``: the file must end as its format requires (one suffix Range request)."""
        assert probe.header is not None
        if view.total_size is None and piece.ranged and not piece.encoded and piece.total:
            view.total_size = piece.total
        if view.total_size is None:
            return _noted(probe, END_NOT_CHECKED)
        try:
            message = header_parser.check_trailer(probe.header, view)
        except NeedBytes:
            tail = header_parser.TRAILER_BYTES
            more = await self._range(url, f"bytes=-{tail}", tail, piece.validator, into)
            if more is None:
                return _noted(probe, END_NOT_FETCHED)
            view.add(more.start, more.data)
            try:
                message = header_parser.check_trailer(probe.header, view)
            except (NeedBytes, CorruptImage) as exc:
                message = str(exc)
        except CorruptImage as exc:
            message = str(exc)
        if message is not None:
            return replace(
                probe, problem=Reason.CORRUPT_IMAGE, message=message, integrity="truncated"
            )
        return replace(probe, integrity="ok")

    async def _decode_fully(
        self, url: str, view: ByteView, piece: _Piece, probe: ImageProbe, into: Fetched[_Piece]
    ) -> ImageProbe:
        """``full``: download the whole file, check its end and decode it, within bounds.

        A file over the pixel or byte caps is not decoded; its end is checked as ``tail``
        does, so ``full`` is never less strict than ``tail``.
        """
        header = probe.header
        assert header is not None
        cap = min(MAX_DECODE_BYTES, self.config.max_response_bytes - 1)
        known = view.total_size or piece.total
        if header.format != "svg" and header.width * header.height > MAX_DECODE_PIXELS:
            note = (
                f"not decoded: {header.width}x{header.height} is over the "
                f"{MAX_DECODE_PIXELS:,}-pixel decode limit"
            )
            return await self._check_end(url, view, piece, _noted(probe, note), into)
        if known is not None and known > cap:
            note = f"not decoded: the file is over the {cap:,}-byte decode limit"
            return await self._check_end(url, view, piece, _noted(probe, note), into)
        async with self._downloads:
            whole = await self._get(url, None, limit=cap + 1)
            _absorb(into, whole)
            if whole.body is None:
                return _noted(probe, FULL_DOWNLOAD_FAILED)
            data = whole.body.data
            if len(data) > cap:
                del data, whole
                note = f"not decoded: the file is over the {cap:,}-byte decode limit"
                return await self._check_end(url, view, piece, _noted(probe, note), into)
            probe = replace(probe, total_bytes=len(data))
            problem = _same_image(header, data)
            if problem is not None:
                return replace(
                    probe, problem=Reason.CORRUPT_IMAGE, message=problem, integrity="corrupt"
                )
            ending = _ending(header, data)
            if ending is not None:
                return replace(
                    probe, problem=Reason.CORRUPT_IMAGE, message=ending, integrity="truncated"
                )
            if header.format == "svg":
                return replace(probe, integrity="ok")
            if header.format not in DECODERS:
                note = f"not decoded: no {header.format.upper()} decoder is available"
                return _noted(probe, note)
            async with self._decodes:
                problem = await asyncio.to_thread(decode, data, header)
        if problem is not None:
            return replace(
                probe, problem=Reason.CORRUPT_IMAGE, message=problem, integrity="corrupt"
            )
        return replace(probe, integrity="ok")

    async def _range(
        self, url: str, spec: str, size: int, validator: str | None, into: Fetched[_Piece]
    ) -> _Piece | None:
        """One follow-up Range request; None unless it was answered with those bytes."""
        headers = {"Range": spec}
        if validator:
            headers["If-Range"] = validator
        more = await self._get(url, headers, limit=size)
        _absorb(into, more)
        piece = more.body
        if piece is None or not piece.ranged or piece.encoded:
            return None
        return piece

    async def _onward(
        self, url: str, offset: int, view: ByteView, validator: str | None, into: Fetched[_Piece]
    ) -> _Piece | None:
        """Stream ``bytes=offset-`` into ``view`` until the header is settled (or the cap)."""
        headers = {"Range": f"bytes={offset}-"}
        if validator:
            headers["If-Range"] = validator
        cap = max(self.config.max_image_bytes - offset, header_parser.FOLLOW_UP_BYTES)
        more = await self.fetcher.fetch(
            url, partial(_read_onward, view), cap, identity=True, headers=headers
        )
        _absorb(into, more)
        piece = more.body
        if piece is None or not piece.ranged or piece.encoded:
            return None
        return piece

    async def _get(
        self,
        url: str,
        headers: dict[str, str] | None,
        *,
        whole: int | None = None,
        limit: int | None = None,
    ) -> Fetched[_Piece]:
        """GET ``url``: streamed until settled (``whole`` set) or read up to ``limit``."""
        reader: BodyReader[_Piece]
        if whole is not None:
            reader = partial(_read_streaming, whole)
            cap = self.config.max_image_bytes
        else:
            reader = _read_all
            cap = limit if limit is not None else self.config.max_response_bytes
        return await self.fetcher.fetch(url, reader, cap, identity=True, headers=headers)


def decode(data: bytes, header: ImageHeader) -> str | None:
    """Decode ``data`` with Pillow as the format ``header`` names; None if it decodes as that.

    Blocking and CPU-bound: run it in a worker thread. Only the one expected format is
    tried, the stored size must match the header's before any pixel is decoded, and every
    decoder exception (whatever its type) becomes the returned one-line message.
    """
    from PIL import Image, UnidentifiedImageError  # only ``full`` pays for importing Pillow

    opened, reported = DECODERS[header.format]
    if header.format == "ico":
        too_big = _oversized_icon_frame(data)
        if too_big is not None:
            return too_big
    try:
        with Image.open(io.BytesIO(data), formats=(opened,)) as image:
            if image.format not in reported:
                return f"does not decode: Pillow reads it as {image.format}, not {opened}"
            width, height = image.size
            if (width, height) not in _stored_sizes(header):
                return (
                    f"does not decode: the decoder sees {width}x{height} where the header "
                    f"says {header.width}x{header.height}"
                )
            if width * height > MAX_DECODE_PIXELS:
                return f"does not decode: {width}x{height} is over the decode limit"
            image.load()
    except UnidentifiedImageError:
        return f"does not decode: the {opened} decoder does not recognise the file"
    except Exception as exc:
        return f"does not decode: {_one_line(exc)}"
    return None


def _stored_sizes(header: ImageHeader) -> tuple[tuple[int, int], ...]:
    """Sizes a decoder may report: TIFF through libtiff comes already oriented."""
    sizes = [(header.width, header.height)]
    if header.format == "tiff":
        sizes.append((header.displayed_width, header.displayed_height))
    return tuple(sizes)


def _oversized_icon_frame(data: bytes) -> str | None:
    """A message when a frame inside an ICO is over the decode limit, which Pillow's own
    check (its global MAX_IMAGE_PIXELS, about 179 MP) would let it decode."""
    count = int.from_bytes(data[4:6], "little")
    for index in range(min(count, 1024)):
        entry = data[6 + 16 * index : 22 + 16 * index]
        offset = int.from_bytes(entry[12:16], "little")
        frame = data[offset : offset + 24]
        if frame.startswith(b"\x89PNG\r\n\x1a\n"):
            width = int.from_bytes(frame[16:20], "big")
            height = int.from_bytes(frame[20:24], "big")
        else:
            width = abs(int.from_bytes(frame[4:8], "little", signed=True))
            height = abs(int.from_bytes(frame[8:12], "little", signed=True)) // 2
        if width * height > MAX_DECODE_PIXELS:
            return f"does not decode: an ICO frame of {width}x{height} is over the decode limit"
    return None


def _same_image(header: ImageHeader, data: bytes) -> str | None:
    """Why the downloaded bytes are not the image the header probe saw; None if they are."""
    try:
        again = header_parser.parse(ByteView(data, total_size=len(data)))
    except (NeedBytes, NotAnImage, CorruptImage) as exc:
        return f"the full download is not the image the first read showed: {_one_line(exc)}"
    if (again.format, again.width, again.height) != (header.format, header.width, header.height):
        return (
            f"the full download is {again.format.upper()} {again.width}x{again.height}, but the "
            f"first read showed {header.format.upper()} {header.width}x{header.height}"
        )
    return None


def _ending(header: ImageHeader, data: bytes) -> str | None:
    """What :func:`~linkcheck.probes.image_header.check_trailer` says of the whole file."""
    try:
        return header_parser.check_trailer(header, ByteView(data, total_size=len(data)))
    except CorruptImage as exc:
        return str(exc)


def _cores() -> int:
    """CPU cores this process may use (its affinity, where the platform tells)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _noted(probe: ImageProbe, note: str) -> ImageProbe:
    return replace(probe, notes=(*probe.notes, note))


def _one_line(exc: BaseException) -> str:
    """``Type: first line of the text``, bounded, for a message a person reads in a table."""
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return line if len(line) <= _MESSAGE_CHARS else line[: _MESSAGE_CHARS - 3] + "..."


def _unusable(piece: _Piece) -> bool:
    """Whether the first answer must be asked for again, without Range.

    An encoded partial answer cannot be parsed, and a 206 without Content-Range can be
    used only when its bytes already show a header (they are then the file's start).
    """
    if piece.ranged and piece.encoded:
        return True
    if piece.unframed:
        view = ByteView(piece.data)
        try:
            header_parser.parse(view)
        except (NeedBytes, NotAnImage, CorruptImage):
            return True
    return False


async def _read_all(response: httpx.Response, limit: int) -> _Piece:
    piece = _describe(response)
    if piece.ranged and piece.length is not None:
        limit = min(limit, piece.length)
    piece.data = b"".join([chunk async for chunk in body_chunks(response, limit)])
    piece.complete = len(piece.data) < limit
    return piece


async def _read_streaming(whole: int, response: httpx.Response, limit: int) -> _Piece:
    """Read a ranged answer whole, or a full answer only until the header is known.

    A full answer is read to its end when that end comes within ``whole`` bytes (and its
    Content-Length, if any, says so), so that a server ignoring Range still has the end
    of its small files checked.
    """
    piece = _describe(response)
    if piece.ranged and not piece.encoded:
        if piece.length is not None:
            limit = min(limit, piece.length)
        piece.data = b"".join([chunk async for chunk in body_chunks(response, limit)])
        return piece
    if piece.total is not None and piece.total > whole:
        whole = 0
    view = ByteView()
    size = 0
    ended = True
    async with aclosing(body_chunks(response, limit)) as chunks:
        async for chunk in chunks:
            view.add(size, chunk)
            size += len(chunk)
            if size > whole and _settled(view):
                ended = False
                break
    piece.complete = ended and size < limit
    piece.data = view.contiguous_prefix()
    return piece


async def _read_onward(view: ByteView, response: httpx.Response, limit: int) -> _Piece:
    """Add a ranged answer to ``view`` chunk by chunk, stopping once the header is settled."""
    piece = _describe(response)
    if not piece.ranged or piece.encoded:
        return piece
    offset = piece.start
    if piece.length is not None:
        limit = min(limit, piece.length)
    async with aclosing(body_chunks(response, limit)) as chunks:
        async for chunk in chunks:
            view.add(offset, chunk)
            offset += len(chunk)
            if _settled(view):
                break
    return piece


def _settled(view: ByteView) -> bool:
    """Whether the bytes so far decide the outcome (a header, or a definite no)."""
    try:
        header_parser.parse(view)
    except NeedBytes:
        return False
    except (NotAnImage, CorruptImage):
        return True
    return True


def _describe(response: httpx.Response) -> _Piece:
    headers = response.headers
    etag = headers.get("etag")
    piece = _Piece(
        status=response.status_code,
        validator=etag if etag and not etag.startswith("W/") else headers.get("last-modified"),
        content_type=_shared(headers.get("content-type")),
        encoded=headers.get("content-encoding", "identity").strip().lower() != "identity",
    )
    framed = content_range(headers.get("content-range"))
    if response.status_code == 206 and framed is not None:
        first, last, total = framed
        piece.ranged = True
        piece.start, piece.length, piece.total = first, last - first + 1, total
    elif response.status_code == 206:
        piece.unframed = True
    elif not piece.encoded:
        piece.total = content_length(headers.get("content-length"))
    return piece


def _shared(text: str | None) -> str | None:
    """One string object per distinct value: a few content types serve 100,000 images."""
    return sys.intern(text) if text is not None else None


def _absorb(into: Fetched[_Piece], extra: Fetched[_Piece]) -> None:
    into.requests += extra.requests
    into.retries += extra.retries
    into.bytes_read += extra.bytes_read
    into.elapsed_ms = round(into.elapsed_ms + extra.elapsed_ms, 1)
    into.queued_ms = round(into.queued_ms + extra.queued_ms, 1)


def _retyped(fetched: Fetched[_Piece], probe: ImageProbe | None) -> Outcome:
    """The outcome of the whole probe, carrying its image facts."""
    return fetched.outcome(probe.facts() if probe is not None else None)


def _gave_up(need: NeedBytes, piece: _Piece, config: Config) -> str:
    if piece.ranged and not piece.encoded:
        return (
            f"the image header needs more than {MAX_FOLLOW_UPS} follow-up requests "
            f"(next: bytes at {need.offset})"
        )
    cap = min(config.max_image_bytes, config.max_response_bytes)
    return f"no image size found in the first {cap} bytes"


def _not_image(exc: NotAnImage, view: ByteView) -> str:
    text = view.contiguous_prefix()[:64].lstrip().lower()
    if not text:
        return "the body is empty"
    if text.startswith((b"<!doctype html", b"<html")):
        return "the body is an HTML page, not an image"
    if text.startswith((b"{", b"[")):
        return "the body looks like JSON, not an image"
    return str(exc) or "the body is not in any known image format"
