"""Reading an image's format and pixel size from as few body bytes as possible."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from PIL import Image, ImageFile

from linkcheck.fetch import body_chunks
from linkcheck.verdicts import Reason

_SIGNATURES = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x01\x00",
)


@dataclass(frozen=True, slots=True)
class ImageProbe:
    """What the body showed: a format and size, or why there is none."""

    format: str | None = None
    width: int | None = None
    height: int | None = None
    bytes_read: int = 0
    problem: Reason | None = None
    message: str = ""


async def read_image(response: httpx.Response, limit: int) -> ImageProbe:
    """Feed the body to Pillow's incremental parser and stop once the size is known."""
    parser = ImageFile.Parser()
    head = b""
    size = 0
    async for chunk in body_chunks(response, limit):
        if len(head) < 64:
            head += chunk[: 64 - len(head)]
        size += len(chunk)
        try:
            parser.feed(chunk)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            return _failed(head, size, str(exc))
        if parser.image is not None:
            return _known(parser.image, size)
        if size >= limit:
            return ImageProbe(
                bytes_read=size,
                problem=Reason.CORRUPT_IMAGE,
                message=f"no image size found in the first {limit} bytes",
            )
    return _finish(parser, head, size)


def _finish(parser: ImageFile.Parser, head: bytes, size: int) -> ImageProbe:
    if parser.image is not None:
        return _known(parser.image, size)
    try:
        image = parser.close()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return _failed(head, size, str(exc))
    return _known(image, size)


def _known(image: Image.Image, size: int) -> ImageProbe:
    width, height = image.size
    fmt = (image.format or "").lower() or None
    return ImageProbe(format=fmt, width=width, height=height, bytes_read=size)


def _failed(head: bytes, size: int, detail: str) -> ImageProbe:
    if head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return ImageProbe(
            bytes_read=size, problem=Reason.CORRUPT_IMAGE, message=f"broken image: {detail}"
        )
    return ImageProbe(bytes_read=size, problem=Reason.NOT_IMAGE, message=_describe(head))


def _describe(head: bytes) -> str:
    text = head.lstrip().lower()
    if not text:
        return "the body is empty"
    if text.startswith((b"<!doctype html", b"<html")):
        return "the body is an HTML page, not an image"
    if text.startswith((b"{", b"[")):
        return "the body looks like JSON, not an image"
    if text.startswith(b"<"):
        return "the body is XML or HTML, not an image"
    return "the body is not in any known image format"
