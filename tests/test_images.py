"""Image checks end to end on loopback: every format, few bytes, honest verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from linkcheck.engine.runner import check
from linkcheck.report.document import SCHEMA_PATH, Report
from tests.conftest import local_config, picture, write_seed
from tests.image_corpus import Sample, corrupt_samples, image_samples, not_image_samples
from tests.server import LoopbackServer

SAMPLES = {sample.name: sample for sample in image_samples()}


def image_seed(
    server: LoopbackServer,
    images: list[tuple[str, int | None, int | None]],
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
    checks, _ = run(
        tmp_path, image_seed(server, [(good, 320, 240), (cut, 320, 240)]), verify_images="full"
    )
    assert [(c["verdict"], c["image"]["integrity"]) for c in checks] == [
        ("ok", "ok"),
        ("failed", "corrupt"),
    ]
    assert "does not decode" in checks[1]["message"]
    assert checks[0]["image"]["bytes_read"] >= len(data)


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
