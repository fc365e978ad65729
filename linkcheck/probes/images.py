"""Judging an image URL from its header bytes: a small Range first, targeted follow-ups.

The first request asks for ``bytes=0-N``; the structure-walking parser in
:mod:`linkcheck.probes.image_header` either finds the size or names the exact bytes
it needs next, which at most three follow-up Range requests fetch. A server
that ignores Range is read as a stream that stops the moment the size is
known. Integrity (``--verify-images tail``) costs one suffix Range request.
"""

from __future__ import annotations

import io
import re
import sys
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

import httpx

from linkcheck.model.reasons import Reason
from linkcheck.model.records import ImageFacts, Integrity, Outcome
from linkcheck.net.fetch import Fetched, body_chunks
from linkcheck.probes import image_header as header_parser
from linkcheck.probes.image_header import ByteView, CorruptImage, ImageHeader, NeedBytes, NotAnImage

if TYPE_CHECKING:
    from linkcheck.model.config import Config
    from linkcheck.net.fetch import Fetcher

MAX_FOLLOW_UPS = 3
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)


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
    """The bytes one response gave, where they sit in the file, and what it said of the file."""

    status: int
    start: int = 0
    data: bytes = b""
    total: int | None = None
    ranged: bool = False
    complete: bool = False
    validator: str | None = None
    content_type: str | None = None
    encoded: bool = False


class ImageProber:
    """Probes image URLs through the run's fetcher, honouring the image settings of Config."""

    def __init__(self, fetcher: Fetcher, config: Config) -> None:
        self.fetcher = fetcher
        self.config = config

    async def probe(self, url: str) -> Outcome:
        """Fetch as few bytes as possible of ``url`` and judge them; never raises."""
        first_size = self.config.image_first_bytes
        fetched = await self._get(url, {"Range": f"bytes=0-{first_size - 1}"}, stream=True)
        piece = fetched.body
        if fetched.status == 416 or (piece is not None and piece.ranged and piece.encoded):
            again = await self._get(fetched.final_url or url, None, stream=True)
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
        assert probe.header is not None
        if mode == "header":
            return probe
        if mode == "full":
            return await self._decode_fully(url, probe, into)
        if view.total_size is None and piece.ranged and not piece.encoded and piece.total:
            view.total_size = piece.total
        if view.total_size is None:
            note = "the server ignores Range, so the file's end was not checked"
            return replace(probe, notes=(*probe.notes, note))
        try:
            message = header_parser.check_trailer(probe.header, view)
        except NeedBytes:
            tail = header_parser.TRAILER_BYTES
            more = await self._range(url, f"bytes=-{tail}", tail, piece.validator, into)
            if more is None:
                return replace(probe, notes=(*probe.notes, "the file's end could not be fetched"))
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

    async def _decode_fully(self, url: str, probe: ImageProbe, into: Fetched[_Piece]) -> ImageProbe:
        """``--verify-images full``: download the whole file and decode it with Pillow."""
        whole = await self._get(url, None, stream=False)
        _absorb(into, whole)
        if whole.body is None:
            return replace(probe, notes=(*probe.notes, "the full download failed"))
        if probe.format == "svg":
            return replace(probe, integrity="ok")
        from PIL import Image  # only this mode decodes, so only it pays for Pillow

        try:
            with Image.open(io.BytesIO(whole.body.data)) as image:
                image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            return replace(
                probe,
                problem=Reason.CORRUPT_IMAGE,
                message=f"does not decode: {exc}",
                integrity="corrupt",
            )
        return replace(probe, integrity="ok", total_bytes=len(whole.body.data))

    async def _range(
        self, url: str, spec: str, size: int, validator: str | None, into: Fetched[_Piece]
    ) -> _Piece | None:
        """One follow-up Range request; None unless it was answered with those bytes."""
        headers = {"Range": spec}
        if validator:
            headers["If-Range"] = validator
        more = await self._get(url, headers, stream=False, limit=size)
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
        self, url: str, headers: dict[str, str] | None, *, stream: bool, limit: int | None = None
    ) -> Fetched[_Piece]:
        reader = _read_streaming if stream else _read_all
        cap = limit if limit is not None else self.config.max_image_bytes
        if not stream and limit is None:
            cap = self.config.max_response_bytes
        return await self.fetcher.fetch(url, reader, cap, identity=True, headers=headers)


async def _read_all(response: httpx.Response, limit: int) -> _Piece:
    piece = _describe(response)
    piece.data = b"".join([chunk async for chunk in body_chunks(response, limit)])
    piece.complete = len(piece.data) < limit
    return piece


async def _read_streaming(response: httpx.Response, limit: int) -> _Piece:
    """Read a ranged answer whole, or a full answer only until the header is known."""
    piece = _describe(response)
    if piece.ranged and not piece.encoded:
        piece.data = b"".join([chunk async for chunk in body_chunks(response, limit)])
        return piece
    view = ByteView()
    size = 0
    settled = False
    async with aclosing(body_chunks(response, limit)) as chunks:
        async for chunk in chunks:
            view.add(size, chunk)
            size += len(chunk)
            settled = _settled(view)
            if settled:
                break
    piece.complete = not settled and size < limit
    piece.data = view.contiguous_prefix()
    return piece


async def _read_onward(view: ByteView, response: httpx.Response, limit: int) -> _Piece:
    """Add a ranged answer to ``view`` chunk by chunk, stopping once the header is settled."""
    piece = _describe(response)
    if not piece.ranged or piece.encoded:
        return piece
    offset = piece.start
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
    match = _CONTENT_RANGE.match(headers.get("content-range", ""))
    if response.status_code == 206 and match:
        piece.ranged = True
        piece.start = int(match.group(1))
        piece.total = int(match.group(3)) if match.group(3) != "*" else None
    elif "content-length" in headers and not piece.encoded:
        try:
            piece.total = int(headers["content-length"])
        except ValueError:
            piece.total = None
    return piece


def _shared(text: str | None) -> str | None:
    """One string object per distinct value: a few content types serve 100,000 images."""
    return sys.intern(text) if text is not None else None


def _absorb(into: Fetched[_Piece], extra: Fetched[_Piece]) -> None:
    into.requests += extra.requests
    into.retries += extra.retries
    into.bytes_read += extra.bytes_read


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
