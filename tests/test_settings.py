"""The settings table: one declaration per setting, and everything derived from it agrees.

Config validation, the command line, config files and ``linkcheck config`` are all
read from the table, so these tests feed each of them good and bad values.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from linkcheck.cli.options import PRESENTATION, ROWS, build_parser
from linkcheck.model.config import (
    SETTINGS,
    Config,
    FailOn,
    HostRule,
    Method,
    SizePolicy,
    VerifyImages,
)
from linkcheck.model.settings import Flag, SettingError, SettingTypeError, toml_value
from tests.conftest import Invoke, write_seed


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A current folder with two seed folders whose URL is refused without any request."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        write_seed(tmp_path / name, "s.txt", 'webUrl: "http://127.0.0.1:9/never"')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINKCHECK_TEST_TOKEN", "secret-value")
    return tmp_path


# -- the table ------------------------------------------------------------------------------


def test_every_option_has_one_config_key_named_after_its_long_flag() -> None:
    keys = [row.key for row in ROWS]
    assert len(keys) == len(set(keys)), "two settings share a config key"
    for row in ROWS:
        if row.positional:
            assert row.key == row.name == "paths"
        else:
            assert row.key == row.flags[-1].removeprefix("--").replace("-", "_")


def test_internal_settings_are_neither_options_nor_keys(invoke: Invoke, workdir: Path) -> None:
    internal = {row.name for row in SETTINGS if row.internal}
    assert internal == {"page_body_bytes", "image_first_bytes", "aspect_tolerance", "seed_window"}
    _, shown, _ = invoke("config", "a")
    for name in internal:
        assert name not in shown


@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        ({"verify_images": "ful"}, SettingError, "verify_images: expected one of header, tail"),
        ({"size_policy": "big"}, SettingError, "size_policy: expected one of exact, aspect, off"),
        ({"fail_on": "never"}, SettingError, "fail_on: expected one of failed, warning"),
        ({"method": "post"}, SettingError, "method: expected one of get, head"),
        ({"request_timeout": -1}, SettingError, "request_timeout: must be at least 0.001"),
        ({"connect_timeout": math.nan}, SettingError, "connect_timeout: must be a finite number"),
        ({"max_concurrency": 0}, SettingError, "max_concurrency: must be at least 1"),
        ({"retries": "x"}, SettingError, "retries: expected an integer, not 'x'"),
        ({"retries": True}, SettingTypeError, "retries: expected an integer, not True"),
        ({"retries": [1]}, SettingTypeError, "retries: must be a single value"),
        ({"include": ("(",)}, SettingError, "include: invalid regex '(': missing ), unterm"),
        ({"exclude": "a[b"}, SettingError, "exclude: invalid regex 'a[b'"),
        ({"exclude": "x+++"}, SettingError, "multiple repeat at position 3"),
        ({"remap": ("( x",)}, SettingError, "remap: invalid regex '('"),
        ({"remap": (r"^(a) \2",)}, SettingError, "remap: invalid replacement"),
        ({"shard": "0/4"}, SettingError, "shard: the shard must be 1 to 4, not 0"),
        ({"cache_max_age": ("soon",)}, SettingError, "expected a duration such as 90s"),
        ({"cache_max_age": ("-1d",)}, SettingError, "a duration must be 0 or more"),
        ({"fail_after": 0}, SettingError, "fail_after: must be at least 1"),
        ({"cache": 42}, SettingTypeError, "cache: expected a file name, or true, not 42"),
        ({"host_rules": ("x=y",)}, SettingError, "host_rules: expected PATTERN=N"),
        ({"host_rules": (HostRule("x", 0),)}, SettingError, "concurrency must be at least 1"),
        ({"headers": ("a:b",)}, SettingError, "headers: expected HOST_PATTERN:HEADER_NAME"),
        ({"headers": ("*:Bad Name:TOKEN",)}, SettingError, "not a header name"),
        ({"allow_networks": ("10.0.0.0/33",)}, SettingError, "invalid network '10.0.0.0/33'"),
        ({"allow_networks": (42,)}, SettingTypeError, "allow_networks: expected a string"),
        ({"accept": "99"}, SettingError, "accept: not a valid status range: '99'"),
        ({"fields": "pictures"}, SettingError, "fields: unknown field 'pictures'"),
        ({"user_agent": "a\nb"}, SettingError, "user_agent: must not contain control"),
        ({"paths": (42,)}, SettingTypeError, "paths: expected a file name, not 42"),
        ({"ca_bundle": ""}, SettingError, "ca_bundle: expected a file name"),
        ({"recheck": "no"}, SettingError, "recheck: must be true or false"),
        ({"seed_window": 0}, SettingError, "seed_window: must be at least 1"),
        ({"aspect_tolerance": -0.5}, SettingError, "aspect_tolerance: must be at least 0"),
        ({"output": None}, SettingTypeError, "output: must be set"),
        ({"amp_cache_domain": "https://x/"}, SettingError, "amp_cache_domain: not a domain name"),
        ({"check_image_cache": "maybe"}, SettingError, "check_image_cache: must be true or false"),
    ],
)
def test_a_bad_value_in_config_raises_an_error_naming_the_setting(
    changes: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as caught:
        Config(**changes)
    assert isinstance(caught.value, ValueError)
    assert words in str(caught.value)


def test_type_errors_are_type_errors_too() -> None:
    with pytest.raises(TypeError):
        Config(max_redirects=1.5)  # type: ignore[arg-type]


def test_strings_are_read_as_the_command_line_reads_them() -> None:
    config = Config(
        verify_images="full",  # type: ignore[arg-type]
        size_policy="aspect",  # type: ignore[arg-type]
        fail_on="warning",  # type: ignore[arg-type]
        method="head",  # type: ignore[arg-type]
        accept="200-299,403",  # type: ignore[arg-type]
        host_rules=("*.Example.org=2/0.5",),  # type: ignore[arg-type]
        allow_networks=("127.0.0.0/8",),  # type: ignore[arg-type]
        fields="all",  # type: ignore[arg-type]
        request_timeout=5,
    )
    assert config.verify_images is VerifyImages.FULL
    assert (config.size_policy, config.fail_on, config.method) == (
        SizePolicy.ASPECT,
        FailOn.WARNING,
        Method.HEAD,
    )
    assert str(config.verify_images) == "full"
    mode: str = config.verify_images
    assert mode == "full", "modes still compare equal to their strings"
    assert config.accept == ((200, 299), (403, 403))
    assert config.host_rules == (HostRule("*.example.org", 2, 0.5),)
    assert str(config.allow_networks[0]) == "127.0.0.0/8"
    assert len(config.fields) == 5
    assert isinstance(config.request_timeout, float)
    assert Config() == Config(), "the defaults pass their own checks"


@pytest.mark.parametrize(
    "text", ["plain", 'quote " and \\ backslash', "tab\tnew\nline", "del \x7f nul \x00", "üñí 😀"]
)
def test_toml_strings_read_back_the_same(text: str) -> None:
    assert tomllib.loads(f"k = {toml_value([text, text])}")["k"] == [text, text]


# -- linkcheck config round trip ------------------------------------------------------------

#: A value other than the default for every option, as command-line arguments.
NON_DEFAULT: dict[str, list[str]] = {
    "paths": ["a", "b"],
    "pattern": ["--pattern", "*.seed", "--pattern", "*.txt"],
    "fields": ["--fields", "all"],
    "max_seed_bytes": ["--max-seed-bytes", "1000"],
    "output": ["-o", "out/r.json"],
    "path_base": ["--path-base", "a"],
    "concurrency": ["--concurrency", "7"],
    "host_concurrency": ["--host-concurrency", "3"],
    "workers": ["--workers", "3"],
    "min_interval": ["--min-interval", "0.25"],
    "host_limit": ["--host-limit", "*.example.org=2/0.5", "--host-limit", "slow.test=/1.5"],
    "connect_timeout": ["--connect-timeout", "3.5"],
    "read_timeout": ["--read-timeout", "4.5"],
    "timeout": ["--timeout", "9.25"],
    "max_duration": ["--max-duration", "120"],
    "retries": ["--retries", "5"],
    "url_budget": ["--url-budget", "12.5"],
    "dns_concurrency": ["--dns-concurrency", "2"],
    "retry_backoff": ["--retry-backoff", "0.125"],
    "retry_after_cap": ["--retry-after-cap", "30"],
    "no_recheck": ["--no-recheck"],
    "max_redirects": ["--max-redirects", "3"],
    "method": ["--method", "head"],
    "max_image_bytes": ["--max-image-bytes", "4096"],
    "verify_images": ["--verify-images", "full"],
    "size_policy": ["--size-policy", "aspect"],
    "size_tolerance": ["--size-tolerance", "2"],
    "max_response_bytes": ["--max-response-bytes", "1000000"],
    "user_agent": ["--user-agent", 'probe "quoted" \\ ü/1.0'],
    "header": ["--header", "*.example.org:X-Token:LINKCHECK_TEST_TOKEN"],
    "http2": ["--http2"],
    "ca_bundle": ["--ca-bundle", "certs/ca.pem"],
    "insecure": ["--insecure"],
    "no_env_proxy": ["--no-env-proxy"],
    "accept": ["--accept", "200-299,403"],
    "fail_on": ["--fail-on", "warning"],
    "allow_partial": ["--allow-partial"],
    "include": ["--include", "^https://"],
    "exclude": ["--exclude", r"\.pdf$", "--exclude", '"q"'],
    "remap": ["--remap", r"^https://www\.x\.test/(.*) https://staging.test/\1"],
    "shard": ["--shard", "2/4"],
    "amp_cache_domain": ["--amp-cache-domain", "amp.mirror.example"],
    "check_image_cache": ["--check-image-cache"],
    "allow_host": ["--allow-host", "*.internal.test"],
    "allow_network": ["--allow-network", "10.0.0.0/8", "--allow-network", "::1"],
    "format": ["--format", "markdown:out/r.md", "--format", "junit"],
    "files_from": ["--files-from", "changed.txt"],
    "changed_since": ["--changed-since", "origin/main"],
    "cache": ["--cache", "store/c.sqlite"],
    "no_cache": ["--no-cache"],
    "cache_max_age": ["--cache-max-age", "12h", "--cache-max-age", "images=7d"],
    "fail_after": ["--fail-after", "3"],
    "baseline": ["--baseline", "old-report.json"],
    "quiet": ["-q"],
    "verbose": ["-v"],
}


def test_the_round_trip_test_covers_every_setting() -> None:
    assert set(NON_DEFAULT) == {row.key for row in ROWS}


@pytest.mark.parametrize("loudness", ["quiet", "verbose"])
def test_config_output_read_back_with_config_gives_the_same_settings(
    invoke: Invoke, workdir: Path, loudness: str
) -> None:
    other = "verbose" if loudness == "quiet" else "quiet"
    argv = [arg for key, args in NON_DEFAULT.items() if key != other for arg in args]
    code, shown, err = invoke("config", *argv)
    assert code == 0, err
    first = effective("config", *argv)
    for row in SETTINGS:
        if not row.internal:
            assert getattr(first.config, row.name) != row.default, row.name
    for row in PRESENTATION:
        if row.name != other:
            assert getattr(first.presentation, row.name) != row.default, row.name
    (workdir / "linkcheck.toml").write_text(shown, encoding="utf-8")
    tomllib.loads(shown)
    code, again, err = invoke("config", "--config", "linkcheck.toml")
    assert code == 0, err
    second = effective("config", "--config", "linkcheck.toml")
    assert (second.config, second.presentation) == (first.config, first.presentation)
    assert again.splitlines()[2:] == shown.splitlines()[2:]


def test_default_config_output_reads_back_from_a_discovered_file_without_warnings(
    invoke: Invoke, workdir: Path
) -> None:
    code, shown, _ = invoke("config", "a")
    (workdir / "linkcheck.toml").write_text(shown, encoding="utf-8")
    code, again, err = invoke("config")
    assert code == 0
    assert err == "", "default values of widening settings are not worth a warning"
    assert again.splitlines()[2:] == shown.splitlines()[2:]


def effective(*argv: str) -> Any:
    from linkcheck.cli.app import resolve

    return resolve(build_parser().parse_args(list(argv)))


# -- bad values exit 2 with one line, from argv and from config files -----------------------

#: A bad value for every option that takes one, and words the message must hold.
BAD: dict[str, tuple[str, str]] = {
    "paths": ("missing-folder", "no such file or folder"),
    "pattern": ("", "must not be empty"),
    "fields": ("pictures", "unknown field 'pictures'"),
    "max_seed_bytes": ("0", "must be at least 1"),
    "output": ("", "expected a file name"),
    "path_base": ("", "expected a file name"),
    "concurrency": ("0", "must be at least 1"),
    "host_concurrency": ("many", "expected an integer, not 'many'"),
    "workers": ("0", "must be at least 1"),
    "min_interval": ("nan", "must be a finite number"),
    "host_limit": ("*.x.test=two", "expected PATTERN=N or PATTERN=N/SECONDS"),
    "connect_timeout": ("0", "must be at least 0.001"),
    "read_timeout": ("soon", "expected a number, not 'soon'"),
    "timeout": ("inf", "must be a finite number"),
    "max_duration": ("-5", "must be at least 0.001"),
    "retries": ("1000", "must be at most 100"),
    "url_budget": ("0", "must be at least 0.001"),
    "dns_concurrency": ("0", "must be at least 1"),
    "retry_backoff": ("fast", "expected a number"),
    "retry_after_cap": ("-1", "must be at least 0"),
    "max_redirects": ("2.5", "expected an integer"),
    "method": ("post", "expected one of get, head"),
    "max_image_bytes": ("1e3", "expected an integer"),
    "verify_images": ("ful", "expected one of header, tail, full, not 'ful'"),
    "size_policy": ("big", "expected one of exact, aspect, off"),
    "size_tolerance": ("-2", "must be at least 0"),
    "max_response_bytes": ("0", "must be at least 1"),
    "user_agent": ("", "must not be empty"),
    "header": ("api.test:Authorization", "expected HOST_PATTERN:HEADER_NAME:ENV_VAR"),
    "ca_bundle": ("", "expected a file name"),
    "accept": ("200-199", "not a valid status range: '200-199'"),
    "fail_on": ("never", "expected one of failed, warning"),
    "include": ("[", "invalid regex '[': unterminated character set at position 0"),
    "exclude": ("(", "invalid regex '(': missing ), unterminated subpattern at position 0"),
    "remap": ("( x", "invalid regex '(': missing ), unterminated subpattern at position 0"),
    "shard": ("5/4", "the shard must be 1 to 4, not 5"),
    "amp_cache_domain": ("cdn..example", "not a domain name: 'cdn..example'"),
    "allow_host": ("", "must not be empty"),
    "allow_network": ("10.0.0.0/33", "invalid network '10.0.0.0/33'"),
    "files_from": ("", "expected a file name"),
    "changed_since": ("", "must not be empty"),
    "cache": ("", "expected a file name"),
    "cache_max_age": ("videos=1d", "unknown kind 'videos': choose pages or images"),
    "fail_after": ("21", "must be at most 20"),
    "baseline": ("", "expected a file name"),
    "format": ("nope", "unknown output format 'nope'"),
}


def test_every_option_that_takes_a_value_has_a_bad_value_test() -> None:
    assert set(BAD) == {row.key for row in ROWS if not isinstance(row.type, Flag)}


def _row(key: str) -> Any:
    return next(row for row in ROWS if row.key == key)


@pytest.mark.parametrize("key", sorted(BAD))
def test_a_bad_option_value_exits_2_with_one_line_naming_the_option(
    invoke: Invoke, workdir: Path, key: str
) -> None:
    value, words = BAD[key]
    row = _row(key)
    argv = [value] if row.positional else ["a", f"{row.flags[-1]}={value}"]
    code, out, err = invoke("check", *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert words in err
    assert (row.metavar if row.positional else row.flags[-1]) in err or key in err


@pytest.mark.parametrize("key", sorted(BAD))
def test_a_bad_config_file_value_exits_2_with_one_line_naming_the_key(
    invoke: Invoke, workdir: Path, key: str
) -> None:
    value, words = BAD[key]
    row = _row(key)
    text = f"{key} = {toml_value([value] if row.repeat else value)}\n"
    if key != "paths":
        text += 'paths = ["a"]\n'
    (workdir / "bad.toml").write_text(text, encoding="utf-8")
    code, out, err = invoke("check", "--config", "bad.toml")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert words in err
    assert f"bad.toml: {key}: " in err


@pytest.mark.parametrize("key", sorted(row.key or "" for row in ROWS if isinstance(row.type, Flag)))
def test_a_flag_in_a_config_file_must_be_true_or_false(
    invoke: Invoke, workdir: Path, key: str
) -> None:
    (workdir / "bad.toml").write_text(f'paths = ["a"]\n{key} = "yes"\n', encoding="utf-8")
    code, _, err = invoke("check", "--config", "bad.toml")
    assert code == 2
    assert f"bad.toml: {key}: must be true or false, not 'yes'" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("retries = 1000\n", "retries: must be at most 100"),
        ("retries = true\n", "retries: expected an integer, not True"),
        ("timeout = [1, 2]\n", "timeout: must be a single value"),
        ("exclude = [1]\n", "exclude: expected a regular expression (a string), not 1"),
        ("output = 3\n", "output: expected a file name, not 3"),
        ("host_limit = [{ a = 1 }]\n", "host_limit: expected a string"),
        ("nope = 1\n", "unknown key 'nope' (known keys: accept, allow_host,"),
    ],
)
def test_config_file_values_of_the_wrong_type_are_named(
    invoke: Invoke, workdir: Path, text: str, words: str
) -> None:
    (workdir / "bad.toml").write_text('paths = ["a"]\n' + text, encoding="utf-8")
    code, _, err = invoke("check", "--config", "bad.toml")
    assert code == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1


# -- no abbreviations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "a", "--allow-n", "127.0.0.0/8"],
        ["check", "a", "--conc", "3"],
        ["config", "a", "--insec"],
        ["report", "r.json", "--fail", "warning"],
        ["check", "a", "--verb"],
    ],
)
def test_option_abbreviations_are_rejected(invoke: Invoke, workdir: Path, argv: list[str]) -> None:
    code, out, err = invoke(*argv)
    assert (code, out) == (2, "")
    assert "unrecognized arguments" in err
    assert len(err.strip().splitlines()) == 1


# -- trust boundary -------------------------------------------------------------------------

WIDENING = (
    'allow_network = ["0.0.0.0/0"]\nallow_host = ["*"]\n'
    'header = ["*:Authorization:LINKCHECK_TEST_TOKEN"]\ninsecure = true\nca_bundle = "evil.pem"\n'
)


def test_a_discovered_config_file_cannot_widen_what_is_reached_or_sent(
    invoke: Invoke, workdir: Path
) -> None:
    (workdir / "linkcheck.toml").write_text(
        'paths = ["a"]\nretries = 4\n' + WIDENING, encoding="utf-8"
    )
    nested = workdir / "a" / "deeper"
    nested.mkdir()
    code, shown, err = invoke("config")
    assert code == 0
    warnings = err.strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("linkcheck: warning: ")
    for key in ("allow_network", "allow_host", "header", "insecure", "ca_bundle"):
        assert key in warnings[0]
    config = effective("config").config
    assert config.retries == 4, "other settings of the file still apply"
    assert (config.allow_networks, config.allow_hosts, config.headers) == ((), (), ())
    assert (config.insecure, config.ca_bundle) == (False, None)
    assert "insecure = false" in shown


def test_a_config_file_named_with_config_may_widen(invoke: Invoke, workdir: Path) -> None:
    (workdir / "linkcheck.toml").write_text('paths = ["a"]\n' + WIDENING, encoding="utf-8")
    code, _, err = invoke("config", "--config", "linkcheck.toml")
    assert code == 0
    assert err == ""
    config = effective("config", "--config", "linkcheck.toml").config
    assert [str(n) for n in config.allow_networks] == ["0.0.0.0/0"]
    assert config.insecure is True
    assert config.ca_bundle == Path("evil.pem")
    assert config.headers[0].env == "LINKCHECK_TEST_TOKEN"


def test_widening_given_on_the_command_line_still_applies_beside_a_discovered_file(
    invoke: Invoke, workdir: Path
) -> None:
    (workdir / "pyproject.toml").write_text(
        '[tool.linkcheck]\npaths = ["a"]\ninsecure = true\n', encoding="utf-8"
    )
    config = effective("config", "--allow-network", "127.0.0.0/8").config
    assert [str(n) for n in config.allow_networks] == ["127.0.0.0/8"]
    assert config.insecure is False


def test_the_readme_options_tables_list_exactly_the_options_of_the_table() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Options\n", 1)[1].split("\n### Config file\n", 1)[0]
    documented = set()
    for line in section.splitlines():
        if line.startswith("| `-"):
            documented |= set(re.findall(r"--[a-z0-9-]+", line.split(" | ")[0]))
    options = {row.flags[-1] for row in ROWS if row.flags} | {"--config"}
    assert documented == options
