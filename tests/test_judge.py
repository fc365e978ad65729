"""Judging is a pure function of records: tables of (target, outcome, policy), no HTTP."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from linkcheck.model.config import Config, SizePolicy
from linkcheck.model.judge import Policy, judge, judge_skipped, judge_unrequestable
from linkcheck.model.reasons import Reason, Verdict
from linkcheck.model.records import ImageFacts, Kind, Outcome, Target

DEFAULT = Policy()
PAGE_URL = "https://news.test/story"
IMAGE_URL = "https://img.test/a.jpg"
PAGE = Target("canonicalUrl", 3, PAGE_URL, Kind.PAGE, seed="seeds/a.txt")
AMP = Target("ampWebUrl", 4, PAGE_URL + "/amp", Kind.AMP, seed="seeds/a.txt")


def image(width: int | None = None, height: int | None = None) -> Target:
    """An image target claiming ``width`` x ``height`` (either may be missing)."""
    return Target("images[0].url", 9, IMAGE_URL, Kind.IMAGE, width, height, seed="seeds/a.txt")


def jpeg(
    width: int,
    height: int,
    *,
    orientation: int | None = None,
    content_type: str | None = "image/jpeg",
) -> ImageFacts:
    """A JPEG of ``width`` x ``height`` as stored; EXIF orientations 5-8 swap the display."""
    shown = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    return ImageFacts(
        "jpeg", width, height, *shown, orientation=orientation, content_type=content_type
    )


def got(
    status: int | None = 200, facts: ImageFacts | None = None, *, challenge: str | None = None
) -> Outcome:
    """What a URL gave: a final status, the image facts if any, a bot-challenge marker."""
    url = IMAGE_URL if facts is not None else PAGE_URL
    return Outcome(url, status, challenge=challenge, image=facts)


@dataclass(frozen=True)
class Case:
    """One row: what was fetched, under which policy, and what the user must read."""

    id: str
    target: Target
    outcome: Outcome
    verdict: Verdict
    reason: Reason
    message: str
    policy: Policy = DEFAULT


def rows(*cases: Case) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", cases, ids=[case.id for case in cases])


ACCEPT_403 = Policy(accept=((200, 299), (403, 403)))
ASPECT = Policy(size_policy=SizePolicy.ASPECT)
OFF = Policy(size_policy=SizePolicy.OFF)


# --- failures before any status, and statuses ------------------------------------------------


@rows(
    Case(
        "network-error",
        PAGE,
        Outcome(PAGE_URL, error=Reason.TIMEOUT, message="no answer within 20s"),
        Verdict.FAILED,
        Reason.TIMEOUT,
        "no answer within 20s",
    ),
    Case(
        "error-wins-over-a-good-status",
        PAGE,
        Outcome(PAGE_URL, 200, error=Reason.TLS, message="certificate expired"),
        Verdict.FAILED,
        Reason.TLS,
        "certificate expired",
    ),
    Case(
        "rate-limited-error-is-a-warning",
        PAGE,
        Outcome(PAGE_URL, 429, error=Reason.RATE_LIMITED, message="429 until the deadline"),
        Verdict.WARNING,
        Reason.RATE_LIMITED,
        "429 until the deadline",
    ),
    Case(
        "429-after-retries-is-rate-limited",
        PAGE,
        got(429),
        Verdict.WARNING,
        Reason.RATE_LIMITED,
        "the server still answered 429 after retries",
    ),
    Case(
        "428-fails",
        PAGE,
        got(428),
        Verdict.FAILED,
        Reason.HTTP_STATUS,
        "the server answered HTTP 428",
    ),
    Case(
        "430-fails",
        PAGE,
        got(430),
        Verdict.FAILED,
        Reason.HTTP_STATUS,
        "the server answered HTTP 430",
    ),
    Case(
        "404-fails",
        PAGE,
        got(404),
        Verdict.FAILED,
        Reason.HTTP_STATUS,
        "the server answered HTTP 404",
    ),
    Case(
        "no-status-fails",
        PAGE,
        got(None),
        Verdict.FAILED,
        Reason.HTTP_STATUS,
        "the server answered HTTP 0",
    ),
    Case(
        "bot-challenge-is-blocked",
        PAGE,
        got(403, challenge="Cloudflare challenge"),
        Verdict.WARNING,
        Reason.BLOCKED,
        "HTTP 403 with a Cloudflare challenge: the page may be fine for people",
    ),
    Case(
        "bot-challenge-on-429-is-blocked-not-rate-limited",
        PAGE,
        got(429, challenge="DataDome challenge"),
        Verdict.WARNING,
        Reason.BLOCKED,
        "HTTP 429 with a DataDome challenge: the page may be fine for people",
    ),
    Case(
        "challenge-marker-on-an-accepted-status-is-ignored",
        PAGE,
        got(200, challenge="Cloudflare challenge"),
        Verdict.OK,
        Reason.OK,
        "HTTP 200",
    ),
    Case("200-page", PAGE, got(200), Verdict.OK, Reason.OK, "HTTP 200"),
    Case("299-page", PAGE, got(299), Verdict.OK, Reason.OK, "HTTP 299"),
    Case("amp-page", AMP, got(204), Verdict.OK, Reason.OK, "HTTP 204"),
    Case(
        "300-fails",
        PAGE,
        got(300),
        Verdict.FAILED,
        Reason.HTTP_STATUS,
        "the server answered HTTP 300",
    ),
    Case(
        "199-fails",
        PAGE,
        got(199),
        Verdict.FAILED,
        Reason.HTTP_STATUS,
        "the server answered HTTP 199",
    ),
    Case(
        "accept-single-status",
        PAGE,
        got(403),
        Verdict.OK,
        Reason.OK,
        "HTTP 403, accepted by --accept",
        ACCEPT_403,
    ),
    Case(
        "accept-does-not-spill-over",
        PAGE,
        got(404),
        Verdict.FAILED,
        Reason.HTTP_STATUS,
        "the server answered HTTP 404",
        ACCEPT_403,
    ),
    Case(
        "accept-range-lower-edge",
        PAGE,
        got(300),
        Verdict.OK,
        Reason.OK,
        "HTTP 300, accepted by --accept",
        Policy(accept=((300, 399),)),
    ),
    Case(
        "accept-range-below-2xx",
        PAGE,
        got(199),
        Verdict.OK,
        Reason.OK,
        "HTTP 199, accepted by --accept",
        Policy(accept=((100, 299),)),
    ),
    Case(
        "accept-without-2xx-fails-200",
        PAGE,
        got(200),
        Verdict.FAILED,
        Reason.HTTP_STATUS,
        "the server answered HTTP 200",
        Policy(accept=((300, 399),)),
    ),
    Case(
        "accepted-non-2xx-image-is-ok-without-an-image",
        image(640, 480),
        got(403),
        Verdict.OK,
        Reason.OK,
        "HTTP 403, accepted by --accept",
        ACCEPT_403,
    ),
    Case(
        "accepted-non-2xx-image-is-not-judged-on-a-wrong-size",
        image(640, 480),
        got(403, jpeg(10, 10)),
        Verdict.OK,
        Reason.OK,
        "HTTP 403, accepted by --accept",
        ACCEPT_403,
    ),
    Case(
        "image-404-fails-on-status",
        image(640, 480),
        got(404, jpeg(640, 480)),
        Verdict.FAILED,
        Reason.HTTP_STATUS,
        "the server answered HTTP 404",
    ),
)
def test_statuses_and_errors(case: Case) -> None:
    check = judge(case.target, case.outcome, case.policy)
    assert (check.verdict, check.reason, check.message) == (case.verdict, case.reason, case.message)


# --- image bodies ------------------------------------------------------------------------------


@rows(
    Case(
        "no-image-read",
        image(640, 480),
        got(200),
        Verdict.FAILED,
        Reason.NOT_IMAGE,
        "no image was read",
    ),
    Case(
        "html-body",
        image(640, 480),
        got(200, ImageFacts(problem=Reason.NOT_IMAGE, message="the body is HTML, not an image")),
        Verdict.FAILED,
        Reason.NOT_IMAGE,
        "the body is HTML, not an image",
    ),
    Case(
        "unrecognised-body-without-a-message",
        image(),
        got(200, ImageFacts(content_type="application/json")),
        Verdict.FAILED,
        Reason.NOT_IMAGE,
        Reason.NOT_IMAGE.explanation,
    ),
    Case(
        "corrupt-header",
        image(640, 480),
        got(200, ImageFacts("png", problem=Reason.CORRUPT_IMAGE, message="bad IHDR chunk")),
        Verdict.FAILED,
        Reason.CORRUPT_IMAGE,
        "bad IHDR chunk",
    ),
    Case(
        "width-without-height-is-no-size",
        image(640, 480),
        got(200, ImageFacts("png", 640, None, 640, None, message="height unreadable")),
        Verdict.FAILED,
        Reason.NOT_IMAGE,
        "height unreadable",
    ),
    Case(
        "height-without-width-is-no-size",
        image(640, 480),
        got(200, ImageFacts("png", None, 480, None, 480)),
        Verdict.FAILED,
        Reason.NOT_IMAGE,
        Reason.NOT_IMAGE.explanation,
    ),
    Case(
        "sized-but-corrupt-later",
        image(640, 480),
        got(
            200,
            ImageFacts(
                "jpeg", 640, 480, 640, 480, problem=Reason.CORRUPT_IMAGE, message="bad scan data"
            ),
        ),
        Verdict.FAILED,
        Reason.CORRUPT_IMAGE,
        "bad scan data",
    ),
    Case(
        "content-type-names-another-format",
        image(640, 480),
        got(200, jpeg(640, 480, content_type="image/png")),
        Verdict.WARNING,
        Reason.CONTENT_TYPE_MISMATCH,
        "the server says image/png but the bytes are JPEG",
    ),
    Case(
        "content-type-with-parameters-agrees",
        image(640, 480),
        got(200, jpeg(640, 480, content_type="Image/JPEG; q=1")),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 as claimed",
    ),
    Case(
        "missing-content-type-is-no-mismatch",
        image(640, 480),
        got(200, jpeg(640, 480, content_type=None)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 as claimed",
    ),
    Case(
        "size-failure-outranks-content-type-warning",
        image(800, 600),
        got(200, jpeg(640, 480, content_type="image/png")),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 800x600 but the image is jpeg 640x480",
    ),
    Case(
        "orientation-warning-outranks-content-type-warning",
        image(480, 640),
        got(200, jpeg(480, 640, orientation=6, content_type="image/png")),
        Verdict.WARNING,
        Reason.SIZE_MISMATCH,
        "the seed claims 480x640, the stored size, but browsers show 640x480 after EXIF "
        "orientation 6: an orientation problem",
    ),
)
def test_image_bodies(case: Case) -> None:
    check = judge(case.target, case.outcome, case.policy)
    assert (check.verdict, check.reason, check.message) == (case.verdict, case.reason, case.message)


# --- sizes -------------------------------------------------------------------------------------


@rows(
    Case(
        "no-claim",
        image(),
        got(200, jpeg(640, 480)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 (no size claimed)",
    ),
    Case(
        "exact",
        image(640, 480),
        got(200, jpeg(640, 480)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 as claimed",
    ),
    Case(
        "exact-rejects-the-same-aspect",
        image(320, 240),
        got(200, jpeg(640, 480)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 320x240 but the image is jpeg 640x480",
    ),
    Case(
        "width-only-claim-matches",
        image(640, None),
        got(200, jpeg(640, 480)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 as claimed",
    ),
    Case(
        "width-only-claim-differs",
        image(641, None),
        got(200, jpeg(640, 480)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 641x? but the image is jpeg 640x480",
    ),
    Case(
        "height-only-claim-differs",
        image(None, 479),
        got(200, jpeg(640, 480)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims ?x479 but the image is jpeg 640x480",
    ),
    Case(
        "height-only-claim-matches",
        image(None, 480),
        got(200, jpeg(640, 480)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 as claimed",
    ),
    Case(
        "size-policy-off-accepts-any-size",
        image(10, 10),
        got(200, jpeg(640, 480)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 as claimed",
        OFF,
    ),
    Case(
        "tolerance-edge-is-accepted",
        image(642, 478),
        got(200, jpeg(640, 480)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 as claimed",
        Policy(size_tolerance=2),
    ),
    Case(
        "beyond-tolerance-fails",
        image(643, 480),
        got(200, jpeg(640, 480)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 643x480 but the image is jpeg 640x480",
        Policy(size_tolerance=2),
    ),
    Case(
        "aspect-accepts-a-scaled-claim",
        image(320, 240),
        got(200, jpeg(640, 480)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 as claimed",
        ASPECT,
    ),
    Case(
        "aspect-rejects-another-ratio",
        image(320, 200),
        got(200, jpeg(640, 480)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 320x200 but the image is jpeg 640x480",
        ASPECT,
    ),
    Case(
        "aspect-rejects-the-transposed-ratio",
        image(480, 640),
        got(200, jpeg(640, 480)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 480x640 but the image is jpeg 640x480",
        ASPECT,
    ),
    Case(
        "aspect-tolerance-edge-is-accepted",
        image(125, 100),
        got(200, jpeg(100, 100)),
        Verdict.OK,
        Reason.OK,
        "jpeg 100x100 as claimed",
        Policy(size_policy=SizePolicy.ASPECT, aspect_tolerance=0.25),
    ),
    Case(
        "beyond-aspect-tolerance-fails",
        image(126, 100),
        got(200, jpeg(100, 100)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 126x100 but the image is jpeg 100x100",
        Policy(size_policy=SizePolicy.ASPECT, aspect_tolerance=0.25),
    ),
    Case(
        "default-aspect-tolerance-accepts-0.7-percent",
        image(1007, 1000),
        got(200, jpeg(1000, 1000)),
        Verdict.OK,
        Reason.OK,
        "jpeg 1000x1000 as claimed",
        ASPECT,
    ),
    Case(
        "default-aspect-tolerance-rejects-1.5-percent",
        image(1015, 1000),
        got(200, jpeg(1000, 1000)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 1015x1000 but the image is jpeg 1000x1000",
        ASPECT,
    ),
    Case(
        "aspect-needs-both-claims",
        image(320, None),
        got(200, jpeg(640, 480)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 320x? but the image is jpeg 640x480",
        ASPECT,
    ),
    Case(
        "aspect-of-a-zero-height-image-fails-cleanly",
        image(320, 240),
        got(200, ImageFacts("gif", 640, 0, 640, 0)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 320x240 but the image is gif 640x0",
        ASPECT,
    ),
    Case(
        "aspect-of-a-zero-width-image-fails-cleanly",
        image(320, 240),
        got(200, ImageFacts("gif", 0, 480, 0, 480)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 320x240 but the image is gif 0x480",
        ASPECT,
    ),
)
def test_sizes(case: Case) -> None:
    check = judge(case.target, case.outcome, case.policy)
    assert (check.verdict, check.reason, check.message) == (case.verdict, case.reason, case.message)


# --- EXIF orientation --------------------------------------------------------------------------


@rows(
    Case(
        "displayed-size-claimed",
        image(640, 480),
        got(200, jpeg(480, 640, orientation=6)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 (stored 480x640, orientation 6) as claimed",
    ),
    Case(
        "stored-size-claimed-is-an-orientation-warning",
        image(480, 640),
        got(200, jpeg(480, 640, orientation=6)),
        Verdict.WARNING,
        Reason.SIZE_MISMATCH,
        "the seed claims 480x640, the stored size, but browsers show 640x480 after EXIF "
        "orientation 6: an orientation problem",
    ),
    Case(
        "stored-width-only-claimed-is-an-orientation-warning",
        image(480, None),
        got(200, jpeg(480, 640, orientation=8)),
        Verdict.WARNING,
        Reason.SIZE_MISMATCH,
        "the seed claims 480x?, the stored size, but browsers show 640x480 after EXIF "
        "orientation 8: an orientation problem",
    ),
    Case(
        "neither-size-claimed-fails",
        image(100, 100),
        got(200, jpeg(480, 640, orientation=6)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 100x100 but the image is jpeg 640x480 (stored 480x640, orientation 6)",
    ),
    Case(
        "no-size-claimed-still-names-the-orientation",
        image(),
        got(200, jpeg(480, 640, orientation=6)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 (stored 480x640, orientation 6) (no size claimed)",
    ),
    Case(
        "orientation-1-is-not-mentioned",
        image(640, 480),
        got(200, jpeg(640, 480, orientation=1)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 as claimed",
    ),
    Case(
        "mirroring-orientation-is-mentioned-without-a-size-change",
        image(640, 480),
        got(200, jpeg(640, 480, orientation=2)),
        Verdict.OK,
        Reason.OK,
        "jpeg 640x480 (stored 640x480, orientation 2) as claimed",
    ),
    Case(
        "mirroring-orientation-mismatch-is-a-failure-not-an-orientation-warning",
        image(320, 240),
        got(200, jpeg(640, 480, orientation=3)),
        Verdict.FAILED,
        Reason.SIZE_MISMATCH,
        "the seed claims 320x240 but the image is jpeg 640x480 (stored 640x480, orientation 3)",
    ),
    Case(
        "unknown-stored-size-reads-as-zero",
        image(640, 480),
        got(200, ImageFacts("heic", None, None, 640, 480, orientation=6)),
        Verdict.OK,
        Reason.OK,
        "heic 640x480 (stored 0x0, orientation 6) as claimed",
    ),
    Case(
        "aspect-claim-of-the-stored-ratio-is-an-orientation-warning",
        image(240, 320),
        got(200, jpeg(480, 640, orientation=6)),
        Verdict.WARNING,
        Reason.SIZE_MISMATCH,
        "the seed claims 240x320, the stored size, but browsers show 640x480 after EXIF "
        "orientation 6: an orientation problem",
        ASPECT,
    ),
)
def test_exif_orientation(case: Case) -> None:
    check = judge(case.target, case.outcome, case.policy)
    assert (check.verdict, check.reason, check.message) == (case.verdict, case.reason, case.message)


# --- the check record, the policy, and targets never requested -------------------------------


def test_judge_keeps_the_target_and_the_outcome_it_judged() -> None:
    outcome = got(200)
    check = judge(PAGE, outcome)
    assert check.target is PAGE
    assert check.outcome is outcome


def test_judge_is_the_same_for_every_seed_sharing_an_outcome() -> None:
    """One outcome, judged for two seeds' claims: each gets its own verdict."""
    outcome = got(200, jpeg(640, 480))
    right = judge(image(640, 480), outcome)
    wrong = judge(image(800, 600), outcome)
    assert (right.verdict, wrong.verdict) == (Verdict.OK, Verdict.FAILED)
    assert right.outcome is wrong.outcome is outcome


def test_default_policy_is_the_default_configuration() -> None:
    assert Policy() == Policy.from_config(Config())
    assert Policy() == Policy(((200, 299),), SizePolicy.EXACT, 0, 0.01)


def test_policy_from_config_carries_every_judging_setting() -> None:
    config = Config(
        accept=((200, 299), (403, 403)),
        size_policy=SizePolicy.ASPECT,
        size_tolerance=3,
        aspect_tolerance=0.05,
    )
    assert Policy.from_config(config) == Policy(
        ((200, 299), (403, 403)), SizePolicy.ASPECT, 3, 0.05
    )


def test_unrequestable_target_fails_with_its_problem_and_message() -> None:
    target = Target(
        "ampWebUrl",
        4,
        "http://127.0.0.1/",
        Kind.AMP,
        problem=Reason.UNSAFE_URL,
        problem_message="refusing to connect to 127.0.0.1: 127.0.0.1 is loopback",
    )
    check = judge_unrequestable(target)
    assert (check.verdict, check.reason, check.message) == (
        Verdict.FAILED,
        Reason.UNSAFE_URL,
        "refusing to connect to 127.0.0.1: 127.0.0.1 is loopback",
    )
    assert check.target is target
    assert check.outcome is None


def test_unrequestable_target_without_a_message_gets_the_reason_explanation() -> None:
    target = Target("ampWebUrl", 4, "javascript:x", Kind.AMP, problem=Reason.UNSAFE_URL)
    check = judge_unrequestable(target)
    assert (check.verdict, check.reason, check.message) == (
        Verdict.FAILED,
        Reason.UNSAFE_URL,
        Reason.UNSAFE_URL.explanation,
    )


def test_unrequestable_target_without_a_problem_is_an_invalid_url() -> None:
    check = judge_unrequestable(Target("canonicalUrl", 2, "not a url", Kind.PAGE))
    assert (check.verdict, check.reason, check.message) == (
        Verdict.FAILED,
        Reason.INVALID_URL,
        Reason.INVALID_URL.explanation,
    )


def test_unrequestable_target_keeps_a_message_given_without_a_problem() -> None:
    target = Target("canonicalUrl", 2, "http://", Kind.PAGE, problem_message="it has no host")
    check = judge_unrequestable(target)
    assert (check.verdict, check.reason, check.message) == (
        Verdict.FAILED,
        Reason.INVALID_URL,
        "it has no host",
    )


def test_skipped_target_keeps_the_reason_and_message_given() -> None:
    check = judge_skipped(PAGE, Reason.EXCLUDED, "matches --exclude news.test")
    assert (check.verdict, check.reason, check.message) == (
        Verdict.SKIPPED,
        Reason.EXCLUDED,
        "matches --exclude news.test",
    )
    assert check.target is PAGE
    assert check.outcome is None


def test_aspect_policy_judges_a_zero_claimed_height_as_a_mismatch() -> None:
    """The seed reader rejects 0, but a Target from a store or a worker must not crash judging."""
    check = judge(image(640, 0), got(200, jpeg(640, 480)), ASPECT)
    assert (check.verdict, check.reason) == (Verdict.FAILED, Reason.SIZE_MISMATCH)
