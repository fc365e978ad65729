"""Image checks end to end on loopback: every format, few bytes, honest verdicts."""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from PIL import Image, ImageFile

from linkcheck.engine.runner import check
from linkcheck.model.reasons import Reason
from linkcheck.model.records import Integrity, Outcome
from linkcheck.net.fetch import Fetcher
from linkcheck.net.headers import content_range
from linkcheck.probes import image_header, images
from linkcheck.probes.image_header import ImageHeader
from linkcheck.probes.images import ImageProber, decode
from linkcheck.report.document import SCHEMA_PATH, Report
from tests.conftest import local_config, picture, write_seed
from tests.image_corpus import (
    Sample,
    corrupt_samples,
    encode,
    image_samples,
    noise,
    not_image_samples,
)
from tests.server import LoopbackServer

SAMPLES = {sample.name: sample for sample in image_samples()}


def image_seed(
    server: LoopbackServer,
    images: Sequence[tuple[str, int | None, int | None]],
    cached: bool | None = True,
) -> str:
    lines = [f'webUrl: "{server.page("/article")}"', "images:"]
    for url, width, height in images:
        lines.append(f'  - url: "{url}"')
        if width is not None:
            lines.append(f"    width: {width}")
        if height is not None:
            lines.append(f"    height: {height}")
        if cached is not None:
            lines.append(f"    isCached: {str(cached).lower()}")
    return "\n".join(lines)


def run(tmp_path: Path, front_matter: str, **changes: Any) -> tuple[list[dict[str, Any]], Report]:
    write_seed(tmp_path, "seed.txt", front_matter)
    report = check(local_config(tmp_path, **changes))
    try:
        checks = [c for seed in report.seeds() for c in seed["checks"] if c["kind"] == "image"]
        report.save(tmp_path / "report.json")
        return checks, report
    finally:
        report.discard()


def serve(server: LoopbackServer, sample: Sample, **options: Any) -> str:
    return server.image(f"/img/{sample.name}", sample.data, _mime(sample.format), **options)


def _mime(fmt: str) -> str:
    return {"svg": "image/svg+xml", "ico": "image/x-icon", "apng": "image/png"}.get(
        fmt, f"image/{fmt}"
    )


@pytest.mark.parametrize("ranges", [True, False], ids=["range", "no-range"])
def test_every_format_is_sized_as_a_browser_shows_it(
    tmp_path: Path, server: LoopbackServer, ranges: bool
) -> None:
    samples = list(SAMPLES.values())
    claims = []
    for sample in samples:
        shown = (
            (sample.height, sample.width)
            if sample.orientation >= 5
            else (sample.width, sample.height)
        )
        claims.append((serve(server, sample, ranges=ranges), *shown))
    checks, _ = run(tmp_path, image_seed(server, claims), verify_images="header")
    got = {
        Path(c["url"]).name: (
            c["verdict"],
            c["image"]["format"],
            c["image"]["width"],
            c["image"]["height"],
            c["image"]["orientation"],
        )
        for c in checks
    }
    expected = {s.name: ("ok", s.format, s.width, s.height, s.orientation) for s in samples}
    assert got == expected
    if ranges:
        assert all(c["image"]["range_honoured"] for c in checks)


def test_a_multi_megabyte_jpeg_costs_a_few_kilobytes_with_range(
    tmp_path: Path, server: LoopbackServer
) -> None:
    sample = SAMPLES["real_jpeg_camera_2500k"]
    url = serve(server, sample, ranges=True)
    [image], _ = run(tmp_path, image_seed(server, [(url, sample.width, sample.height)]))
    assert image["verdict"] == "ok"
    assert image["image"]["bytes_read"] < 20_000
    assert image["image"]["total_bytes"] == len(sample.data)
    assert image["image"]["integrity"] == "ok"
    assert image["image"]["requests"] <= 1 + 3 + 1


def test_without_range_the_stream_is_closed_once_the_size_is_known(
    tmp_path: Path, server: LoopbackServer
) -> None:
    sample = SAMPLES["real_jpeg_camera_2500k"]
    url = serve(server, sample, ranges=False)
    [image], _ = run(tmp_path, image_seed(server, [(url, sample.width, sample.height)]))
    assert image["verdict"] == "ok"
    assert image["image"]["range_honoured"] is False
    assert image["image"]["bytes_read"] < len(sample.data) / 10
    assert image["image"]["integrity"] == "not_checked"


def test_sof_after_large_app_segments_and_exif_thumbnail(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """160x120 thumbnail and a bogus 9999x7777 PixelXDimension sit before the real SOF."""
    sample = SAMPLES["jpeg_big_app_segments"]
    url = serve(server, sample, ranges=True)
    [image], _ = run(tmp_path, image_seed(server, [(url, 480, 640)]))
    assert (image["verdict"], image["image"]["width"], image["image"]["height"]) == ("ok", 640, 480)
    assert (image["image"]["displayed_width"], image["image"]["displayed_height"]) == (480, 640)
    assert image["image"]["bytes_read"] < 20_000
    assert image["image"]["requests"] <= 5


def test_a_claim_matching_only_the_stored_size_is_an_orientation_warning(
    tmp_path: Path, server: LoopbackServer
) -> None:
    sample = SAMPLES["jpeg_orientation_6_II"]
    url = serve(server, sample, ranges=True)
    [image], _ = run(tmp_path, image_seed(server, [(url, 80, 60)]))
    assert (image["verdict"], image["reason"]) == ("warning", "size_mismatch")
    assert "orientation" in image["message"]


def test_a_wrong_size_fails_with_both_sizes(tmp_path: Path, server: LoopbackServer) -> None:
    url = server.image("/wrong.png", picture(300, 200, "PNG"), "image/png", ranges=True)
    [image], _ = run(tmp_path, image_seed(server, [(url, 1200, 800)]))
    assert (image["verdict"], image["reason"]) == ("failed", "size_mismatch")
    assert "1200x800" in image["message"] and "300x200" in image["message"]


def test_aspect_policy_accepts_a_2x_image_and_tolerance_a_pixel(
    tmp_path: Path, server: LoopbackServer
) -> None:
    double = server.image("/2x.jpg", picture(600, 400), ranges=True)
    off_by_one = server.image("/odd.jpg", picture(301, 200), ranges=True)
    claims = [(double, 300, 200), (off_by_one, 300, 200)]
    exact, _ = run(tmp_path, image_seed(server, claims))
    assert [c["verdict"] for c in exact] == ["failed", "failed"]
    (tmp_path / "b").mkdir()
    loose, _ = run(
        tmp_path / "b", image_seed(server, claims), size_policy="aspect", size_tolerance=1
    )
    assert [c["verdict"] for c in loose] == ["ok", "ok"]


def test_a_truncated_file_is_caught_by_its_missing_end_marker(
    tmp_path: Path, server: LoopbackServer
) -> None:
    whole = SAMPLES["real_jpeg_60k"].data
    url = server.image("/half.jpg", whole[: len(whole) * 6 // 10], ranges=True)
    [image], _ = run(tmp_path, image_seed(server, [(url, 320, 240)]))
    assert (image["verdict"], image["reason"]) == ("failed", "corrupt_image")
    assert "truncated" in image["message"]
    assert image["image"]["integrity"] == "truncated"
    (tmp_path / "h").mkdir()
    [fast], _ = run(tmp_path / "h", image_seed(server, [(url, 320, 240)]), verify_images="header")
    assert fast["verdict"] == "ok"


def test_full_verification_decodes_the_whole_file(tmp_path: Path, server: LoopbackServer) -> None:
    data = SAMPLES["real_jpeg_60k"].data
    good = server.image("/good.jpg", data, ranges=True)
    cut = server.image("/cut.jpg", data[: len(data) * 6 // 10], ranges=True)
    png = broken_pixels_png()
    broken = server.image("/broken.png", png, "image/png", ranges=True)
    claims = [(good, 320, 240), (cut, 320, 240), (broken, 64, 48)]
    checks, _ = run(tmp_path, image_seed(server, claims), verify_images="full")
    assert [(c["verdict"], c["image"]["integrity"]) for c in checks] == [
        ("ok", "ok"),
        ("failed", "truncated"),
        ("failed", "corrupt"),
    ]
    assert "truncated" in checks[1]["message"]
    assert checks[2]["message"].startswith("does not decode: OSError: broken data stream")
    assert checks[0]["image"]["bytes_read"] >= len(data)


def broken_pixels_png() -> bytes:
    """A 64x48 PNG whose header and IEND are fine but whose compressed pixels are not."""
    png = encode(noise(64, 48, 3), "PNG")
    at = png.index(b"IDAT") + 40
    return png[:at] + bytes([png[at] ^ 0xFF]) + png[at + 1 :]


@pytest.mark.parametrize("sample", not_image_samples(), ids=lambda s: s.name)
def test_bytes_that_are_not_an_image_fail_as_not_image(
    tmp_path: Path, server: LoopbackServer, sample: Sample
) -> None:
    url = server.image("/x.jpg", sample.data, "image/jpeg", ranges=True)
    [image], _ = run(tmp_path, image_seed(server, [(url, 10, 10)]))
    assert (image["verdict"], image["reason"]) == ("failed", "not_image")


@pytest.mark.parametrize("sample", corrupt_samples(), ids=lambda s: s.name)
def test_broken_headers_fail_as_corrupt(
    tmp_path: Path, server: LoopbackServer, sample: Any
) -> None:
    url = server.image("/broken", sample.data, "image/png", ranges=True)
    [image], _ = run(tmp_path, image_seed(server, [(url, 10, 10)]))
    assert (image["verdict"], image["reason"]) == ("failed", "corrupt_image")
    assert image["message"]


def test_content_type_that_disagrees_is_a_warning_not_a_failure(
    tmp_path: Path, server: LoopbackServer
) -> None:
    png = picture(40, 30, "PNG")
    as_jpeg = server.image("/a.jpg", png, "image/jpeg", ranges=True)
    as_octets = server.image("/b.bin", png, "application/octet-stream", ranges=True)
    honest = server.image("/c.png", png, "image/png", ranges=True)
    checks, report = run(
        tmp_path, image_seed(server, [(as_jpeg, 40, 30), (as_octets, 40, 30), (honest, 40, 30)])
    )
    assert [(c["verdict"], c["reason"]) for c in checks] == [
        ("warning", "content_type_mismatch"),
        ("warning", "content_type_mismatch"),
        ("ok", "ok"),
    ]
    assert "image/jpeg" in checks[0]["message"] and "PNG" in checks[0]["message"]
    assert report.summary.passed


def test_gzipped_images_are_still_read(tmp_path: Path, server: LoopbackServer) -> None:
    sample = SAMPLES["real_png_800k"]
    url = server.image("/z.png", sample.data, "image/png", gzip=True)
    [image], _ = run(tmp_path, image_seed(server, [(url, sample.width, sample.height)]))
    assert image["verdict"] == "ok"


def test_missing_claim_is_ok_with_the_real_size(tmp_path: Path, server: LoopbackServer) -> None:
    url = server.image("/free.gif", picture(33, 44, "GIF"), "image/gif", ranges=True)
    [image], _ = run(tmp_path, image_seed(server, [(url, None, None)]))
    assert image["verdict"] == "ok"
    assert (image["image"]["width"], image["image"]["height"]) == (33, 44)


def test_summary_splits_images_by_is_cached_and_the_report_validates(
    tmp_path: Path, server: LoopbackServer
) -> None:
    good = server.image("/ok.jpg", picture(20, 10), ranges=True)
    bad = server.image("/bad.jpg", picture(20, 10), ranges=True)
    write_seed(tmp_path, "a.txt", image_seed(server, [(good, 20, 10)], cached=True))
    write_seed(tmp_path, "b.txt", image_seed(server, [(bad, 99, 10)], cached=False))
    report = check(local_config(tmp_path))
    try:
        report.save(tmp_path / "report.json")
    finally:
        report.discard()
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    images = data["summary"]["images"]
    assert (images["checked"], images["ok"], images["failed"]) == (2, 1, 1)
    assert images["by_is_cached"]["true"]["ok"] == 1
    assert images["by_is_cached"]["false"]["failed"] == 1
    block = data["seeds"][0]["checks"][1]["image"]
    assert {
        "displayed_width",
        "displayed_height",
        "orientation",
        "content_type",
        "requests",
        "range_honoured",
        "total_bytes",
    } <= block.keys()


def test_the_per_image_byte_cap_ends_in_corrupt_image(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """A server that ignores Range and keeps the size past the cap costs only the cap."""
    sample = SAMPLES["tiff_le_ifd_at_end_1m"]
    url = serve(server, sample, ranges=False)
    [image], _ = run(tmp_path, image_seed(server, [(url, 1024, 1000)]), max_image_bytes=64 * 1024)
    assert (image["verdict"], image["reason"]) == ("failed", "corrupt_image")
    assert "no image size found in the first 65536 bytes" in image["message"]
    assert image["image"]["bytes_read"] < 200_000


def test_many_metadata_segments_before_the_frame_cost_one_stream(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """A split ICC profile: ten 60 KB APP2 segments, each needing a new look, then the SOF."""
    from tests.image_corpus import encode, insert_after_app0, noise, segment

    base = encode(noise(320, 200, 5), "JPEG", quality=70)
    icc = [segment(0xE2, b"ICC_PROFILE\x00" + bytes([n, 10]) + bytes(60_000)) for n in range(10)]
    data = insert_after_app0(base, *icc)
    url = server.image("/icc.jpg", data, ranges=True)
    [image], _ = run(tmp_path, image_seed(server, [(url, 320, 200)]))
    assert (image["verdict"], image["image"]["width"]) == ("ok", 320)
    assert image["image"]["requests"] <= 1 + 3 + 1
    assert image["image"]["integrity"] == "ok"


def test_the_response_byte_cap_bounds_image_reads_too(
    tmp_path: Path, server: LoopbackServer
) -> None:
    sample = SAMPLES["tiff_le_ifd_at_end_1m"]
    url = serve(server, sample, ranges=False)
    [image], _report = run(
        tmp_path, image_seed(server, [(url, 1024, 1000)]), max_response_bytes=20_000
    )
    assert "no image size found in the first 20000 bytes" in image["message"]
    assert image["image"]["bytes_read"] < 100_000


# --------------------------------------------------------------------------------------------
# One prober, driven directly: what a hostile or sloppy server can make of an image URL


def probe_all(tmp_path: Path, urls: list[str], **changes: Any) -> list[Outcome]:
    """Probe ``urls`` concurrently with one ImageProber, as a run does."""
    config = local_config(tmp_path, **changes)

    async def main() -> list[Outcome]:
        fetcher = Fetcher(config)
        try:
            prober = ImageProber(fetcher, config)
            return list(await asyncio.gather(*(prober.probe(url) for url in urls)))
        finally:
            await fetcher.aclose()

    return asyncio.run(main())


def probe_one(tmp_path: Path, url: str, **changes: Any) -> Outcome:
    [outcome] = probe_all(tmp_path, [url], **changes)
    return outcome


def answer(
    status: int, body: bytes, headers: dict[str, str], *, length: bool = True
) -> Callable[[BaseHTTPRequestHandler], None]:
    """A route that sends exactly this answer (without Content-Length: until it closes)."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if length:
            handler.send_header("Content-Length", str(len(body)))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        handler.wfile.write(body)

    return handle


def two_faced(
    ranged: bytes, whole: bytes, *, delay: float = 0.0, seen: list[int] | None = None
) -> Callable[[BaseHTTPRequestHandler], None]:
    """Honours Range with ``ranged``'s bytes but sends ``whole`` to a plain GET.

    ``seen`` records how many plain GETs were in flight when each one arrived.
    """
    ranges = images_server_file(ranged)
    in_flight = [0]
    lock = threading.Lock()

    def handle(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("Range"):
            ranges(handler)
            return
        with lock:
            in_flight[0] += 1
            if seen is not None:
                seen.append(in_flight[0])
        try:
            time.sleep(delay)
            answer(200, whole, {"Content-Type": "image/jpeg"})(handler)
        finally:
            with lock:
                in_flight[0] -= 1

    return handle


def images_server_file(data: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    from tests.server import StaticFile

    return StaticFile(data, "image/jpeg", ranges=True, gzip=False)


def cut_png() -> bytes:
    """A 64x48 PNG without its IEND chunk: every pixel decodes, the file is still cut short."""
    return encode(noise(64, 48, 3), "PNG")[:-12]


def test_full_checks_the_end_as_strictly_as_tail(tmp_path: Path, server: LoopbackServer) -> None:
    url = server.image("/noend.png", cut_png(), "image/png", ranges=True)
    for mode in ("tail", "full"):
        outcome = probe_one(tmp_path, url, verify_images=mode)
        assert outcome.image is not None
        assert (outcome.image.problem, outcome.image.integrity) == (
            Reason.CORRUPT_IMAGE,
            Integrity.TRUNCATED,
        ), mode
        assert "IEND" in outcome.image.message


def test_full_refuses_a_download_that_is_not_the_image_the_header_showed(
    tmp_path: Path, server: LoopbackServer
) -> None:
    small, large = picture(32, 24), picture(64, 48)
    other = server.add("/other.jpg", two_faced(small, large))
    dds = struct.pack("<4sIIII", b"DDS ", 124, 0x1007, 10, 10) + bytes(56)
    dds += struct.pack("<II4s", 32, 0x4, b"XXXX") + bytes(140)
    swapped = server.add("/dds.jpg", two_faced(small, dds))
    changed, to_dds = probe_all(tmp_path, [other, swapped], verify_images="full")
    assert changed.image is not None and to_dds.image is not None
    assert changed.image.problem is Reason.CORRUPT_IMAGE
    assert changed.image.message == (
        "the full download is JPEG 64x48, but the first read showed JPEG 32x24"
    )
    assert to_dds.image.problem is Reason.CORRUPT_IMAGE
    assert "not the image the first read showed" in to_dds.image.message


def test_decode_opens_only_the_expected_format(tmp_path: Path) -> None:
    """EPS would run Ghostscript and DDS raises NotImplementedError: neither is ever opened."""
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    dds = struct.pack("<4sIIII", b"DDS ", 124, 0x1007, 10, 10) + bytes(56)
    dds += struct.pack("<II4s", 32, 0x4, b"XXXX") + bytes(140)
    header = ImageHeader("jpeg", 10, 10)
    for data in (eps, dds):
        assert (
            decode(data, header) == "does not decode: the JPEG decoder does not recognise the file"
        )


@pytest.mark.parametrize(
    "error",
    [
        NotImplementedError("Unimplemented pixel format"),
        struct.error("unpack requires a buffer of 4 bytes"),
        MemoryError(),
        Image.DecompressionBombError("Image size exceeds limit"),
        Image.DecompressionBombWarning("could be decompression bomb DOS attack"),
        RecursionError("maximum recursion depth exceeded\nwith more lines"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_decoder_exception_is_a_corrupt_image(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def broken_load(self: ImageFile.ImageFile) -> None:
        raise error

    monkeypatch.setattr(ImageFile.ImageFile, "load", broken_load)
    url = server.image("/a.jpg", picture(20, 10), ranges=True)
    outcome = probe_one(tmp_path, url, verify_images="full")
    assert outcome.image is not None
    assert (outcome.image.problem, outcome.image.integrity) == (
        Reason.CORRUPT_IMAGE,
        Integrity.CORRUPT,
    )
    assert outcome.image.message.startswith(f"does not decode: {type(error).__name__}")
    assert "\n" not in outcome.image.message


def test_full_does_not_decode_over_the_pixel_cap_but_still_checks_the_end(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "MAX_DECODE_PIXELS", 5_000)
    png = encode(noise(100, 60, 1), "PNG")
    good = server.image("/big.png", png, "image/png", ranges=True)
    cut = server.image("/bigcut.png", png[:-12], "image/png", ranges=True)
    fine, truncated = probe_all(tmp_path, [good, cut], verify_images="full")
    assert fine.image is not None and truncated.image is not None
    assert (fine.image.problem, fine.image.integrity) == (None, Integrity.OK)
    assert fine.image.notes == ("not decoded: 100x60 is over the 5,000-pixel decode limit",)
    assert truncated.image.integrity is Integrity.TRUNCATED
    assert all("range" in {name.lower() for name in hit.headers} for hit in server.hits)


def test_full_does_not_download_over_the_byte_cap_but_still_checks_the_end(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "MAX_DECODE_BYTES", 10_000)
    sample = SAMPLES["real_jpeg_60k"]
    known = serve(server, sample, ranges=True)
    unknown = server.add(
        "/chunked.jpg", answer(200, sample.data, {"Content-Type": "image/jpeg"}, length=False)
    )
    by_header, by_stream = probe_all(tmp_path, [known, unknown], verify_images="full")
    assert by_header.image is not None and by_stream.image is not None
    assert (by_header.image.problem, by_header.image.integrity) == (None, Integrity.OK)
    assert by_header.image.notes == ("not decoded: the file is over the 10,000-byte decode limit",)
    assert by_stream.image.problem is None
    assert by_stream.image.notes[0] == "not decoded: the file is over the 10,000-byte decode limit"
    assert by_stream.bytes_read < 40_000


def test_full_downloads_and_decodes_in_bounded_numbers_off_the_event_loop(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    urls = []
    for n in range(8):
        data = picture(30 + n, 20)
        urls.append(server.add(f"/slow{n}.jpg", two_faced(data, data, delay=0.1, seen=seen)))
    decoding: list[str] = []
    active = [0]
    most = [0]
    lock = threading.Lock()

    def counting_decode(data: bytes, header: ImageHeader) -> str | None:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
            decoding.append(threading.current_thread().name)
        try:
            time.sleep(0.05)
            return None
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(images, "decode", counting_decode)
    monkeypatch.setattr(images, "_cores", lambda: 2)
    outcomes = probe_all(tmp_path, urls, verify_images="full")
    assert all(o.image is not None and o.image.integrity is Integrity.OK for o in outcomes)
    assert len(seen) == 8 and max(seen) <= images.MAX_FULL_DOWNLOADS
    assert len(decoding) == 8 and most[0] <= 2
    assert threading.main_thread().name not in decoding


def test_full_leaves_a_format_pillow_cannot_decode_passing_and_noted(
    tmp_path: Path, server: LoopbackServer
) -> None:
    sample = SAMPLES["heic_hand"]
    outcome = probe_one(tmp_path, serve(server, sample, ranges=True), verify_images="full")
    assert outcome.image is not None
    assert (outcome.image.problem, outcome.image.integrity) == (None, Integrity.NOT_CHECKED)
    assert outcome.image.notes == ("not decoded: no HEIC decoder is available",)


def test_full_decodes_every_real_sample_as_the_header_saw_it(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """Decoders agree with the header on format and stored size (TIFF, AVIF irot, MPO, ICO)."""
    decodable = [s for s in SAMPLES.values() if s.pillow and _pixels_decode(s.data)]
    assert {s.format for s in decodable} >= {"jpeg", "png", "gif", "webp", "bmp", "tiff", "ico"}
    outcomes = probe_all(
        tmp_path, [serve(server, s, ranges=True) for s in decodable], verify_images="full"
    )
    got = {
        s.name: (o.image.problem, o.image.integrity) if o.image else None
        for s, o in zip(decodable, outcomes, strict=True)
    }
    assert got == {s.name: (None, Integrity.OK) for s in decodable}


def _pixels_decode(data: bytes) -> bool:
    import io

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception:
        return False
    return True


@pytest.mark.parametrize(
    "headers",
    [{}, {"Content-Range": "bytes 0-4095/" + "9" * 5000}, {"Content-Range": "bytes 4095-0/5000"}],
    ids=["missing", "thousands_of_digits", "reversed"],
)
def test_a_206_without_a_usable_content_range_is_read_from_the_start(
    tmp_path: Path, server: LoopbackServer, headers: dict[str, str]
) -> None:
    png = picture(300, 200, "PNG")
    url = server.add("/p.png", answer(206, png, {"Content-Type": "image/png", **headers}))
    outcome = probe_one(tmp_path, url)
    assert outcome.image is not None
    assert outcome.image.problem is None
    assert (outcome.image.format, outcome.image.width, outcome.image.height) == ("png", 300, 200)
    assert outcome.image.range_honoured is False


def test_a_206_without_content_range_and_no_header_yet_is_asked_for_again(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """The server sends a middle piece as 206 without saying where: the file is fetched whole."""
    png = picture(300, 200, "PNG")

    def handle(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("Range"):
            answer(206, png[100:4096], {"Content-Type": "image/png"})(handler)
        else:
            answer(200, png, {"Content-Type": "image/png"})(handler)

    outcome = probe_one(tmp_path, server.add("/mid.png", handle))
    assert outcome.image is not None and outcome.image.problem is None
    assert (outcome.image.width, outcome.image.height, outcome.requests) == (300, 200, 2)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("bytes 0-99/1000", (0, 99, 1000)),
        ("BYTES 10-19/*", (10, 19, None)),
        ("bytes 0-99/" + "9" * 5000, None),
        ("bytes 0-99/\uff11\uff10\uff10\uff10", None),
        ("bytes ²-3/10", None),
        ("bytes 50-10/100", None),
        ("bytes 0-100/100", None),
        ("bytes */100", None),
        ("bytes 0-99/1000 trailing", None),
        ("", None),
    ],
)
def test_content_range_is_parsed_strictly(
    value: str, parsed: tuple[int, int, int | None] | None
) -> None:
    assert content_range(value) == parsed


def test_an_unexpected_error_in_a_probe_becomes_an_internal_verdict(
    tmp_path: Path,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(view: image_header.ByteView) -> ImageHeader:
        raise ValueError("a bug\nsecond line")

    monkeypatch.setattr(image_header, "parse", broken)
    url = server.image("/a.jpg", picture(20, 10), ranges=True)
    with caplog.at_level(logging.DEBUG, logger="linkcheck"):
        outcome = probe_one(tmp_path, url)
    assert outcome.error is Reason.INTERNAL
    assert outcome.image is not None and outcome.image.problem is Reason.INTERNAL
    assert outcome.image.message == "internal error: ValueError: a bug"
    assert any(record.exc_info for record in caplog.records)


def test_cancelling_a_probe_is_not_turned_into_a_verdict(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cancelled(view: image_header.ByteView) -> ImageHeader:
        raise asyncio.CancelledError

    monkeypatch.setattr(image_header, "parse", cancelled)
    url = server.image("/a.jpg", picture(20, 10), ranges=True)
    with pytest.raises(asyncio.CancelledError):
        probe_one(tmp_path, url)


# --------------------------------------------------------------------------------------------
# Servers that ignore Range: small files are read to their end, large ones are noted


def test_without_range_a_small_truncated_image_is_still_caught(
    tmp_path: Path, server: LoopbackServer
) -> None:
    whole = SAMPLES["real_jpeg_60k"].data
    assert len(whole) <= images.WHOLE_READ_MAX_BYTES
    cut = whole[: len(whole) * 6 // 10]
    sized = server.image("/cut.jpg", cut, ranges=False)
    unsized = server.add(
        "/cut2.jpg", answer(200, cut, {"Content-Type": "image/jpeg"}, length=False)
    )
    good = server.image("/good.jpg", whole, ranges=False)
    claims = [(sized, 320, 240), (unsized, 320, 240), (good, 320, 240)]
    checks, _ = run(tmp_path, image_seed(server, claims))
    assert [(c["verdict"], c["reason"], c["image"]["integrity"]) for c in checks] == [
        ("failed", "corrupt_image", "truncated"),
        ("failed", "corrupt_image", "truncated"),
        ("ok", "ok", "ok"),
    ]
    assert checks[2]["image"]["range_honoured"] is False


def test_without_range_a_large_image_is_not_read_whole_and_says_so(
    tmp_path: Path, server: LoopbackServer
) -> None:
    sample = SAMPLES["real_jpeg_camera_2500k"]
    sized = serve(server, sample, ranges=False)
    unsized = server.add(
        "/big.jpg", answer(200, sample.data, {"Content-Type": "image/jpeg"}, length=False)
    )
    for outcome in probe_all(tmp_path, [sized, unsized]):
        assert outcome.image is not None and outcome.image.problem is None
        assert outcome.image.integrity is Integrity.NOT_CHECKED
        assert outcome.image.notes == (images.END_NOT_CHECKED,)
        assert outcome.bytes_read < images.WHOLE_READ_MAX_BYTES + 64 * 1024


def test_validators_are_kept_only_when_a_results_store_will_read_them(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """Every URL's outcome stays in memory for the whole run: its ETag and Last-Modified
    strings are worth keeping only for revalidation by the store."""
    url = server.image("/v.jpg", picture(8, 6), ranges=True)
    plain = probe_one(tmp_path, url)
    stored = probe_one(tmp_path, url, cache=tmp_path / "c.sqlite")
    assert (plain.image and plain.image.width, plain.etag) == (8, None)
    assert stored.etag is not None and stored.etag.startswith('"')
