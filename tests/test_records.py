"""Every record survives its dict form unchanged: what the store, workers and merge rely on."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkcheck.model.reasons import Reason, Verdict
from linkcheck.model.records import (
    Check,
    Hop,
    ImageFacts,
    Integrity,
    Kind,
    Outcome,
    PageFacts,
    Seed,
    SeedError,
    SeedResult,
    SeedWarning,
    Target,
    host_name,
)

IMAGE_TARGET = Target(
    "related[1].images[0].url",
    31,
    "https://img.test/a.jpg",
    Kind.IMAGE,
    claimed_width=640,
    claimed_height=360,
    is_cached=True,
    seed="seeds/a.txt",
    column=12,
)
BAD_TARGET = Target(
    "ampWebUrl", 4, "javascript:x", Kind.AMP, problem=Reason.UNSAFE_URL, problem_message="no"
)
FACTS = ImageFacts(
    "jpeg", 480, 640, 640, 480, 6, None, "", "image/jpeg", 3, 4096, True, 90_000,
    Integrity.TRUNCATED, ("the file's end could not be fetched",),
)  # fmt: skip
OUTCOME = Outcome(
    "https://img.test/a.jpg",
    status=200,
    final_url="https://cdn.test/a.jpg",
    redirects=(Hop("https://img.test/a.jpg", 301),),
    retry_after=2.5,
    content_type="image/jpeg",
    content_length=90_000,
    etag='"abc"',
    last_modified="Wed, 21 Oct 2015 07:28:00 GMT",
    requests=3,
    retries=1,
    bytes_read=4096,
    elapsed_ms=12.5,
    queued_ms=3.0,
    image=FACTS,
)
FAILED = Outcome("https://x.test/", error=Reason.TIMEOUT, message="no answer", requests=2)
PAGE = PageFacts(
    is_amp=True,
    canonical="https://news.test/a",
    amphtml=None,
    title='Страница ⚡ "quoted"',
    heading="Budget 2027",
    head_complete=True,
)
PAGE_OUTCOME = Outcome(
    "https://news.test/a.amp", status=200, final_url="https://news.test/a.amp", page=PAGE
)
CHECK = Check(IMAGE_TARGET, Verdict.FAILED, Reason.SIZE_MISMATCH, "claims 640x360", OUTCOME)
ERROR = SeedError(Reason.INVALID_YAML, "invalid YAML: bad", 7)
MOJIBAKE = SeedWarning(Reason.MOJIBAKE, "reads 'Â£'", 4, "excerpt", "New £3mn")
NO_SIZE = SeedWarning(Reason.NO_IMAGE_SIZE, "no width", 9, "images[0]")
DIGEST = "ab" * 32

RECORDS = [
    ERROR,
    SeedError(Reason.TOO_LARGE, "big", None),
    IMAGE_TARGET,
    BAD_TARGET,
    Hop("https://a.test/", 308),
    FACTS,
    ImageFacts(problem=Reason.NOT_IMAGE, message="the body is an HTML page"),
    OUTCOME,
    FAILED,
    PAGE,
    PageFacts(html=False),
    PAGE_OUTCOME,
    CHECK,
    Check(BAD_TARGET, Verdict.FAILED, Reason.UNSAFE_URL, "no"),
    MOJIBAKE,
    NO_SIZE,
    Seed("seeds/a.txt", (IMAGE_TARGET, BAD_TARGET), (ERROR,), "Title ü"),
    Seed("seeds/b.txt", (IMAGE_TARGET,), (), None, (MOJIBAKE, NO_SIZE), DIGEST),
    SeedResult("seeds/a.txt", (ERROR,), (CHECK,), None),
    SeedResult("seeds/b.txt", (), (CHECK,), "T", (MOJIBAKE,), DIGEST),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_record_survives_its_dict_form_through_json(record: object) -> None:
    data = json.loads(json.dumps(record.to_dict()))  # type: ignore[attr-defined]
    assert type(record).from_dict(data) == record  # type: ignore[attr-defined]


def test_every_record_type_is_covered() -> None:
    covered = {type(record) for record in RECORDS}
    assert covered == {
        SeedError, SeedWarning, Target, Hop, ImageFacts, PageFacts, Outcome, Check, Seed,
        SeedResult,
    }  # fmt: skip


def test_records_are_frozen() -> None:
    with pytest.raises(AttributeError):
        OUTCOME.status = 404  # type: ignore[misc]


def test_transient_outcomes_are_those_worth_another_try() -> None:
    assert FAILED.transient
    assert Outcome("u", status=503).transient
    assert Outcome("u", error=Reason.RATE_LIMITED).transient
    assert not Outcome("u", status=404).transient
    assert not Outcome("u", error=Reason.DNS).transient


def test_check_names_the_host_actually_requested() -> None:
    remapped = Check(IMAGE_TARGET, Verdict.OK, Reason.OK, "", Outcome("https://mirror.test/a.jpg"))
    assert remapped.requested_host == "mirror.test"
    assert Check(BAD_TARGET, Verdict.FAILED, Reason.UNSAFE_URL, "").requested_host == ""


_URL_PIECES = st.sampled_from(
    ["http://", "https://", "HTTPS://", "ftp://", "//", "a.b", "News.Test", "1.2.3.4", "xn--d-1ga",
     "[::1]", "u@", ":", ":8", ":99999", ":8x", "/", "?", "#", "\t", " ", "_", "-", ".", "é", "%41"]
)  # fmt: skip


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.lists(_URL_PIECES, max_size=8).map("".join))
@example("https://a.b:8x/p")
@example("https://news.test?x=1")
def test_a_url_host_is_what_urlsplit_says_it_is(url: str) -> None:
    host_name.cache_clear()
    try:
        expected = urlsplit(url).hostname or ""
    except ValueError:
        expected = ""
    assert host_name(url) == expected
