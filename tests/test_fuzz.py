"""Fuzz tests: nothing a seed, a server or an image's bytes hold crashes or misleads a run.

Deterministic (``derandomize``) and bounded, so CI stays fast; ``python -m bench.fuzz``
runs the same strategies and properties long. The generators and the properties live in
``tests/fuzz_support.py``. The ``@example`` inputs are the crashes issue 14 lists and the
ones the fuzzer found (each was a failure on main before the hardening).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fuzz_support import (
    PORT,
    PREFIX,
    Answer,
    PropertyBroken,
    Served,
    answers,
    check_answers,
    check_image_bytes,
    check_seed_folder,
    check_seed_text,
    decode_inputs,
    foreign_images,
    full_answers,
    image_bytes,
    page_answer,
    scratch,
    seed_folders,
    seed_texts,
)
from tests.hostile import HostileServer
from tests.image_corpus import sample


def bounded(examples: int) -> settings:
    """Same inputs on every run, no wall-clock deadline, no example database."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with HostileServer() as server:
        yield Served(server)


def _seed(front_matter: str) -> bytes:
    return f"---\n{front_matter}\n---\n".encode()


#: A claimed width of 20,000 binary digits: its decimal form is over Python's 4,300-digit limit.
_HUGE_WIDTH = "webUrl: https://a.example/\nimages:\n  - url: https://a.example/i\n    width: 0b" + (
    "1" * 20000
)


def _answer(status: bytes, name: bytes, value: bytes, body: bytes = b"") -> Answer:
    """A well-formed answer with one header of interest (the cases issue 14 lists)."""
    headers = ((name, value), (b"Content-Length", b"%d" % len(body)))
    return Answer(b"HTTP/1.1 " + status, headers, body, as_image=status.startswith(b"206"))


@bounded(300)
@given(seed_texts())
@example(_seed("webUrl: https://a.example/\ntitle: 2021-02-29"))
@example(
    _seed("webUrl: https://a.example/\nimages:\n  - url: https://a.example/i\n    width: !!int foo")
)
@example(_seed("webUrl: https://a.example/\nimages:\n  - url: x\n    isCached: !!bool maybe"))
@example(_seed("webUrl: " + "9" * 5000))
@example(_seed("webUrl: 0x" + "f" * 5000))
@example(_seed(_HUGE_WIDTH))
@example(_seed("webUrl: https://xn--i-7iq.ws/\n<<: {ampWebUrl: https://a.example/}"))
def test_no_seed_text_makes_parse_seed_raise(data: bytes) -> None:
    check_seed_text(data)


@bounded(12)
@given(seed_folders())
@example([(b"0caf\xe9.txt", _seed("webUrl: https://a.example/")), (b"1\n::error::x.txt", b"")])
@example([(b"0.txt", _seed(_HUGE_WIDTH))])
def test_every_seed_file_of_a_folder_is_reported_and_the_report_validates(
    files: list[tuple[bytes, bytes]],
) -> None:
    with scratch() as directory:
        check_seed_folder(files, directory)


@bounded(20)
@given(st.lists(answers(), min_size=1, max_size=8))
@example([_answer(b"429 X", b"Retry-After", "\u00b2".encode())])
@example([_answer(b"503 X", b"Retry-After", b"9" * 5000)])
@example(
    [_answer(b"200 X", b"X", b""), _answer(b"206 X", b"Content-Range", b"bytes 0-3/" + b"9" * 5000)]
)
@example([_answer(b"302 X", b"Location", b"http://xn--zz:" + PORT + PREFIX + b"0")])
@example([_answer(b"302 X", b"Location", b"http://xn--i-7iq.ws:" + PORT + PREFIX + b"1")])
@example([_answer(b"302 X", b"Location", b"\xff\xfe")])
@example([_answer(b"301 X", b"Location", b"http://127.0.0.1:65536" + PREFIX + b"0")])
def test_no_server_answer_crashes_the_run_or_goes_without_a_verdict(
    served: Served, batch: list[Answer]
) -> None:
    with scratch() as directory:
        check_answers(served, batch, directory)


@bounded(400)
@given(image_bytes())
def test_image_header_parser_raises_only_its_own_exceptions(data: bytes) -> None:
    check_image_bytes(data)


@bounded(6)
@given(st.lists(decode_inputs(), min_size=1, max_size=5))
@example([(image, None) for image in foreign_images()])
@example([(sample("png_rgb").data, image) for image in foreign_images()])
def test_full_decode_of_any_served_bytes_gives_a_verdict(
    served: Served, images: list[tuple[bytes, bytes | None]]
) -> None:
    with scratch() as directory:
        check_answers(
            served, [page_answer(), *full_answers(images)], directory, verify_images="full"
        )


def test_a_plain_answer_is_checked_ok_through_the_harness(served: Served, tmp_path: Path) -> None:
    """The answers harness is not vacuous: a healthy page gets its ``ok`` verdict."""
    report = check_answers(served, [page_answer()], tmp_path)
    assert [c["verdict"] for s in report["seeds"] for c in s["checks"]] == ["ok"]


def test_a_crash_the_runner_contains_still_breaks_the_property(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check ending ``internal`` is a crash we contained, and the fuzz tests must see it."""

    def planted(*args: object) -> None:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr("linkcheck.engine.runner.judge", planted)
    with pytest.raises(PropertyBroken, match="planted"):
        check_answers(served, [page_answer()], tmp_path)
