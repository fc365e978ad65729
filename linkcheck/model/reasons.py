"""The closed vocabulary of outcomes: verdicts and the reasons behind them.

Every report, summary line and exit code is derived from these two enums,
never from ad-hoc strings.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """How a check ended, from best to worst for a user reading the report."""

    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


class Reason(StrEnum):
    """Why a check or a seed ended as it did; each has a one-line explanation."""

    # check reasons
    OK = "ok"
    HTTP_STATUS = "http_status"
    TIMEOUT = "timeout"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    PROTOCOL = "protocol"
    REDIRECT_LOOP = "redirect_loop"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    RATE_LIMITED = "rate_limited"
    BLOCKED = "blocked"
    NOT_IMAGE = "not_image"
    CORRUPT_IMAGE = "corrupt_image"
    SIZE_MISMATCH = "size_mismatch"
    CONTENT_TYPE_MISMATCH = "content_type_mismatch"
    UNSAFE_URL = "unsafe_url"
    INVALID_URL = "invalid_url"
    EXCLUDED = "excluded"
    NOT_IN_SHARD = "not_in_shard"
    INTERRUPTED = "interrupted"
    INTERNAL = "internal"
    FLAKY = "flaky"
    NOT_AMP = "not_amp"
    CANONICAL_MISMATCH = "canonical_mismatch"
    AMPHTML_MISMATCH = "amphtml_mismatch"
    CDN_AMP_MISMATCH = "cdn_amp_mismatch"
    SOFT_404 = "soft_404"
    CACHE_MISSING = "cache_missing"
    CACHE_STALE = "cache_stale"
    # seed reasons
    NO_FRONT_MATTER = "no_front_matter"
    INVALID_YAML = "invalid_yaml"
    NOT_A_MAPPING = "not_a_mapping"
    MISSING_FIELD = "missing_field"
    BAD_TYPE = "bad_type"
    NOT_UTF8 = "not_utf8"
    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"
    BAD_VALUE = "bad_value"
    # seed lint reasons (warnings, found without the network)
    MOJIBAKE = "mojibake"
    BAD_DATE = "bad_date"
    FUTURE_DATE = "future_date"
    PROVIDER_MISMATCH = "provider_mismatch"
    RELATED_IS_ARTICLE = "related_is_article"
    DUPLICATE_IMAGE = "duplicate_image"
    NO_IMAGE_SIZE = "no_image_size"

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]


_EXPLANATIONS: dict[Reason, str] = {
    Reason.OK: "the URL answered as expected",
    Reason.HTTP_STATUS: "the server answered with an HTTP status that is not accepted",
    Reason.TIMEOUT: "no complete answer within the deadline",
    Reason.DNS: "the host name could not be resolved",
    Reason.CONNECT: "the connection was refused, reset or dropped",
    Reason.TLS: "the TLS handshake or certificate check failed",
    Reason.PROTOCOL: "the server's answer was not valid HTTP",
    Reason.REDIRECT_LOOP: "the redirects lead back to a URL already visited",
    Reason.TOO_MANY_REDIRECTS: "more redirects than the configured limit",
    Reason.RATE_LIMITED: "the server kept answering 429 Too Many Requests",
    Reason.BLOCKED: "the server answered with a bot challenge instead of the page",
    Reason.NOT_IMAGE: "the body is not an image (an HTML error page, JSON, ...)",
    Reason.CORRUPT_IMAGE: "the body starts like an image but cannot be decoded",
    Reason.SIZE_MISMATCH: "the image's pixel size differs from the size the seed claims",
    Reason.CONTENT_TYPE_MISMATCH: "the Content-Type header does not name the image's real format",
    Reason.UNSAFE_URL: "the URL's scheme or address is refused by the safety policy",
    Reason.INVALID_URL: "the value is not an absolute http(s) URL",
    Reason.EXCLUDED: "the URL matches an exclude rule and was not requested",
    Reason.NOT_IN_SHARD: "the URL's host belongs to another shard (--shard), which checks it",
    Reason.INTERRUPTED: "the run ended (time limit or signal) before this check finished",
    Reason.INTERNAL: "linkcheck itself failed on this check; the message names the error",
    Reason.FLAKY: "the URL failed, but fewer runs in a row than --fail-after since it last "
    "passed: reported, not failing the run",
    Reason.NOT_AMP: "the AMP URL serves a page that is not AMP (no amp or ⚡ on its <html> tag)",
    Reason.CANONICAL_MISMATCH: "the AMP page's canonical link does not name the seed's webUrl",
    Reason.AMPHTML_MISMATCH: "the page's amphtml link does not name the seed's ampWebUrl",
    Reason.CDN_AMP_MISMATCH: "cdnAmpWebUrl is not the AMP cache URL of ampWebUrl",
    Reason.SOFT_404: "the server says 200 but serves an error page (not found, or the home page)",
    Reason.CACHE_MISSING: "the AMP cache does not serve this image (--check-image-cache)",
    Reason.CACHE_STALE: "the AMP cache serves another format or size than the original image",
    Reason.NO_FRONT_MATTER: "the file does not start with YAML front matter between '---' lines",
    Reason.INVALID_YAML: "the front matter is not valid YAML",
    Reason.NOT_A_MAPPING: "the front matter is not a YAML mapping",
    Reason.MISSING_FIELD: "a required field is missing",
    Reason.BAD_TYPE: "a checked field has the wrong type or an impossible value",
    Reason.NOT_UTF8: "the file is not valid UTF-8",
    Reason.TOO_LARGE: "the file is larger than the configured limit",
    Reason.UNREADABLE: "the file could not be read",
    Reason.BAD_VALUE: "a value in the front matter cannot be read (an impossible date, a bad tag)",
    Reason.MOJIBAKE: "text decoded twice (a UTF-8 '£' read as 'Â£'); the message gives the repair",
    Reason.BAD_DATE: "publishedDateTime is not an ISO 8601 date and time",
    Reason.FUTURE_DATE: "publishedDateTime lies more than a day in the future",
    Reason.PROVIDER_MISMATCH: "provider.domain is not the registrable domain of webUrl's host",
    Reason.RELATED_IS_ARTICLE: "a related entry repeats the article's own webUrl",
    Reason.DUPLICATE_IMAGE: "the same image URL is listed twice in one images list",
    Reason.NO_IMAGE_SIZE: "an image claims no width or height, so its size goes unchecked",
}
