"""The settings table: each setting declared once, beside the field that holds it.

A field of :class:`~linkcheck.model.config.Config` is declared with :func:`setting`,
which puts a :class:`Setting` (value type, help, flags, widening or not) into the
field's metadata. Everything else is derived from those rows: validation in
``__post_init__``, the command line's options, the config file's keys (the long
flag with ``-`` written ``_``) and the TOML that ``linkcheck config`` prints.
Nothing here does I/O, so the model layer can hold it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

#: A value that TOML can hold, as ``linkcheck config`` writes it.
Toml = str | int | float | bool | list[Any]


class SettingError(ValueError):
    """A setting with a bad value; the message names the setting and the problem."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class SettingTypeError(SettingError, TypeError):
    """A setting given a value of the wrong type (a list for a number, say)."""


class UnknownSettingError(SettingError):
    """A config-file key that names no setting."""

    def __init__(self, key: str, known: Iterable[str]) -> None:
        ValueError.__init__(self, f"unknown key {key!r} (known keys: {', '.join(sorted(known))})")
        self.setting = key
        self.problem = "unknown key"


# -- value types: how one value is read from text, checked, and written as TOML --------------


class ValueType(Generic[T]):
    """How one value of a setting is read from text, checked, and written back as TOML.

    A string given anywhere (command line, config file, ``Config(...)``) is read as the
    command line reads it; other values must already have the right type.
    """

    metavar = "VALUE"
    expected = "a value"

    def parse(self, text: str) -> T:
        raise NotImplementedError

    def check(self, value: object) -> T:
        raise TypeError(f"expected {self.expected}, not {value!r}")

    def coerce(self, value: object) -> T:
        if isinstance(value, str):
            return self.parse(value)
        return self.check(value)

    def dump(self, value: T) -> Toml:
        return str(value)


@dataclass(frozen=True)
class Integer(ValueType[int]):
    minimum: int = 0
    maximum: int | None = None
    metavar: str = "N"
    expected: str = "an integer"

    def parse(self, text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError(f"expected an integer, not {text!r}") from None
        return self.check(value)

    def check(self, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            return super().check(value)
        if value < self.minimum:
            raise ValueError(f"must be at least {self.minimum}, not {value}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum}, not {value}")
        return value

    def dump(self, value: int) -> Toml:
        return value


@dataclass(frozen=True)
class Number(ValueType[float]):
    minimum: float = 0.0
    metavar: str = "SECONDS"
    expected: str = "a number"

    def parse(self, text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"expected a number, not {text!r}") from None
        return self.check(value)

    def check(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return super().check(value)
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number, not {value}")
        if number < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}, not {value:g}")
        return number

    def dump(self, value: float) -> Toml:
        return value


@dataclass(frozen=True)
class Flag(ValueType[bool]):
    """On or off: a flag on the command line, ``true``/``false`` in a config file."""

    metavar: str = ""
    expected: str = "true or false"

    def parse(self, text: str) -> bool:
        raise ValueError(f"must be true or false, not {text!r}")

    def check(self, value: object) -> bool:
        if not isinstance(value, bool):
            raise TypeError(f"must be true or false, not {value!r}")
        return value

    def dump(self, value: bool) -> Toml:
        return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Text(ValueType[str]):
    metavar: str = "TEXT"
    expected: str = "a string"

    def parse(self, text: str) -> str:
        if not text:
            raise ValueError("must not be empty")
        if _CONTROL.search(text):
            raise ValueError(f"must not contain control characters: {text!r}")
        return text


@dataclass(frozen=True)
class FilePath(ValueType[Path]):
    """A file or folder name; relative names in a config file are taken from its folder."""

    metavar: str = "FILE"
    expected: str = "a file name"

    def parse(self, text: str) -> Path:
        if not text:
            raise ValueError("expected a file name, not an empty string")
        return Path(text)

    def check(self, value: object) -> Path:
        if isinstance(value, Path):
            return value
        return super().check(value)


@dataclass(frozen=True)
class Choice(ValueType[E]):
    """One of an enum's values, spelled as the value (``full``, ``aspect``...)."""

    enum: type[E]
    expected: str = "a string"

    @property
    def metavar(self) -> str:  # type: ignore[override]
        return "|".join(member.value for member in self.enum)

    def parse(self, text: str) -> E:
        try:
            return self.enum(text.strip())
        except ValueError:
            choices = ", ".join(member.value for member in self.enum)
            raise ValueError(f"expected one of {choices}, not {text!r}") from None

    def dump(self, value: E) -> Toml:
        return value.value


def compile_regex(text: str) -> re.Pattern[str]:
    """``re.compile`` with an error that says what is wrong and where."""
    try:
        return re.compile(text)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise ValueError(f"invalid regex {text!r}: {exc.msg}{where}") from None


@dataclass(frozen=True)
class Regex(ValueType[str]):
    metavar: str = "REGEX"
    expected: str = "a regular expression (a string)"

    def parse(self, text: str) -> str:
        compile_regex(text)
        return text


# -- composite values: rules written as one string each ----------------------------------------


@dataclass(frozen=True)
class HostRule:
    """Politeness settings for hosts matching ``pattern`` (fnmatch, case-insensitive)."""

    pattern: str
    concurrency: int | None = None
    min_interval: float | None = None


@dataclass(frozen=True)
class HeaderRule:
    """An extra request header for hosts matching ``pattern``, its value read from ``env``.

    Only the variable's name is kept here, so no secret is ever in a config or report.
    """

    pattern: str
    name: str
    env: str


@dataclass(frozen=True)
class Remap:
    """Rewrite URLs matching ``pattern`` (a regex) to ``replacement`` before requesting them."""

    pattern: str
    replacement: str


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_host_rule(spec: str) -> HostRule:
    """``PATTERN=N`` or ``PATTERN=N/SECONDS``: at most N in flight, SECONDS between starts."""
    pattern, equals, limits = spec.partition("=")
    count, _, interval = limits.partition("/")
    if not equals or not pattern.strip():
        raise ValueError(f"expected PATTERN=N or PATTERN=N/SECONDS, not {spec!r}")
    try:
        concurrency = int(count) if count.strip() else None
        seconds = float(interval) if interval.strip() else None
    except ValueError:
        raise ValueError(f"expected PATTERN=N or PATTERN=N/SECONDS, not {spec!r}") from None
    return check_host_rule(HostRule(pattern.strip(), concurrency, seconds))


def check_host_rule(rule: HostRule) -> HostRule:
    if not rule.pattern or "=" in rule.pattern or rule.pattern != rule.pattern.strip():
        raise ValueError(f"not a host pattern: {rule.pattern!r}")
    if rule.concurrency is not None and rule.concurrency < 1:
        raise ValueError(f"concurrency must be at least 1 in {_host_rule_text(rule)!r}")
    if rule.min_interval is not None and not 0 <= rule.min_interval < math.inf:
        raise ValueError(f"the interval must be 0 or more seconds in {_host_rule_text(rule)!r}")
    return dataclasses.replace(rule, pattern=rule.pattern.lower())


def _host_rule_text(rule: HostRule) -> str:
    count = "" if rule.concurrency is None else str(rule.concurrency)
    interval = "" if rule.min_interval is None else f"/{rule.min_interval!r}"
    return f"{rule.pattern}={count}{interval}"


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def parse_header_rule(spec: str) -> HeaderRule:
    """``PATTERN:NAME:ENV_VAR``: send header NAME to matching hosts, its value from ENV_VAR."""
    parts = spec.split(":")
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise ValueError(f"expected HOST_PATTERN:HEADER_NAME:ENV_VAR, not {spec!r}")
    pattern, name, env = (part.strip() for part in parts)
    return check_header_rule(HeaderRule(pattern, name, env))


def check_header_rule(rule: HeaderRule) -> HeaderRule:
    if not rule.pattern or ":" in rule.pattern or _CONTROL.search(rule.pattern):
        raise ValueError(f"not a host pattern: {rule.pattern!r}")
    if not _TOKEN.fullmatch(rule.name):
        raise ValueError(f"not a header name: {rule.name!r}")
    if not rule.env or "=" in rule.env or "\x00" in rule.env or ":" in rule.env:
        raise ValueError(f"not an environment variable name: {rule.env!r}")
    return dataclasses.replace(rule, pattern=rule.pattern.lower())


def parse_remap(spec: str) -> Remap:
    """``REGEX REPLACEMENT`` (separated by white space), as lychee writes remaps."""
    pattern, _, replacement = spec.strip().partition(" ")
    if not pattern or not replacement.strip():
        raise ValueError(f"expected 'REGEX REPLACEMENT', not {spec!r}")
    return check_remap(Remap(pattern, replacement.strip()))


def check_remap(rule: Remap) -> Remap:
    """A remap whose regex compiles and whose replacement names only groups it has."""
    if not rule.pattern or re.search(r"\s", rule.pattern):
        raise ValueError(f"the regex must not be empty or hold white space (use \\s): {rule!r}")
    compile_regex(rule.pattern)
    try:
        probe = re.compile(f"(?:{rule.pattern})?")  # same groups, and always matches
    except re.error:
        return rule  # a pattern with global flags: its replacement is checked when used
    try:
        probe.sub(rule.replacement, "", count=1)
    except (re.error, IndexError) as exc:
        raise ValueError(f"invalid replacement {rule.replacement!r}: {exc}") from None
    return rule


def parse_network(spec: str) -> IPNetwork:
    """``10.20.0.0/16`` (or a single address) as a network."""
    try:
        return ipaddress.ip_network(spec.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(f"invalid network {spec!r}: {exc}") from None


def parse_accept(spec: str) -> tuple[tuple[int, int], ...]:
    """Turn ``200-299,403`` into inclusive status ranges."""
    ranges: list[tuple[int, int]] = []
    for part in spec.split(","):
        text = part.strip()
        if not text:
            continue
        low, _, high = text.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"not a status or status range: {text!r}") from None
        if not 100 <= first <= last <= 999:
            raise ValueError(f"not a valid status range: {text!r}")
        ranges.append((first, last))
    if not ranges:
        raise ValueError("no status given")
    return tuple(ranges)


#: Seed fields that hold URLs, and the fields checked when none are chosen.
URL_FIELDS: tuple[str, ...] = ("webUrl", "ampWebUrl", "cdnAmpWebUrl", "originalUrl", "images")
DEFAULT_FIELDS: tuple[str, ...] = ("webUrl", "ampWebUrl", "images")


def parse_fields(spec: str) -> frozenset[str]:
    """Turn ``all`` or a comma list such as ``webUrl,images`` into a set of URL fields."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if names == ["all"]:
        return frozenset(URL_FIELDS)
    return _field_set(names, spec)


def _field_set(names: Sequence[str], spec: object) -> frozenset[str]:
    unknown = [name for name in names if name not in URL_FIELDS]
    if unknown or not names:
        shown = ", ".join(map(repr, unknown)) if unknown else repr(spec)
        raise ValueError(f"unknown field {shown}: choose 'all' or some of " + ", ".join(URL_FIELDS))
    return frozenset(names)


@dataclass(frozen=True)
class Rule(ValueType[T]):
    """A value written as one string (a host limit, a header rule, a remap, a network)."""

    read: Any  # Callable[[str], T]; Any because mypy cannot type a callable dataclass field
    kind: type | tuple[type, ...]
    vet: Any = None  # Callable[[T], T] re-checking a value built in Python
    show: Any = str  # Callable[[T], str]
    metavar: str = "RULE"
    expected: str = "a string"

    def parse(self, text: str) -> T:
        return cast(T, self.read(text))

    def check(self, value: object) -> T:
        if not isinstance(value, self.kind):
            return super().check(value)
        return cast(T, self.vet(value) if self.vet else value)

    def dump(self, value: T) -> Toml:
        return str(self.show(value))


@dataclass(frozen=True)
class StatusRanges(ValueType[tuple[tuple[int, int], ...]]):
    metavar: str = "RANGES"
    expected: str = "status ranges such as '200-299,403'"

    def parse(self, text: str) -> tuple[tuple[int, int], ...]:
        return parse_accept(text)

    def check(self, value: object) -> tuple[tuple[int, int], ...]:
        if isinstance(value, int) and not isinstance(value, bool):
            return parse_accept(str(value))
        if isinstance(value, list | tuple) and all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in value
        ):
            return parse_accept(",".join(map(str, value)))
        if isinstance(value, tuple) and all(
            isinstance(pair, tuple) and len(pair) == 2 for pair in value
        ):
            return parse_accept(",".join(f"{low}-{high}" for low, high in value))
        return super().check(value)

    def dump(self, value: tuple[tuple[int, int], ...]) -> Toml:
        return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in value)


@dataclass(frozen=True)
class FieldSet(ValueType[frozenset[str]]):
    metavar: str = "SPEC"
    expected: str = "'all' or a list of URL fields"

    def parse(self, text: str) -> frozenset[str]:
        return parse_fields(text)

    def check(self, value: object) -> frozenset[str]:
        if isinstance(value, list | tuple | set | frozenset) and all(
            isinstance(name, str) for name in value
        ):
            return _field_set(list(value), value)
        return super().check(value)

    def dump(self, value: frozenset[str]) -> Toml:
        return [name for name in URL_FIELDS if name in value]


# -- the rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One row of the settings table; ``name`` and ``default`` come from the field."""

    type: ValueType[Any]
    help: str
    flags: tuple[str, ...] = ()
    group: str = ""
    metavar: str | None = None
    repeat: bool = False
    optional: bool = False
    negated: bool = False
    positional: bool = False
    widens: bool = False
    default_text: str | None = None
    name: str = ""
    default: Any = None
    #: The value of the option given without one (``--cache`` alone), or None: a value is needed.
    const: Any = None

    @property
    def internal(self) -> bool:
        """Neither an option nor a config key: kept for library callers and tests."""
        return not self.flags and not self.positional

    @property
    def option(self) -> str:
        """How messages name the setting on the command line: its long flag."""
        return self.flags[-1] if self.flags else self.metavar or self.name.upper()

    @property
    def key(self) -> str | None:
        """The config-file key: the long flag without ``--``, ``-`` written ``_``."""
        if self.positional:
            return self.name
        if not self.flags:
            return None
        return self.flags[-1].removeprefix("--").replace("-", "_")

    def parse(self, text: str) -> Any:
        """One item from command-line text; ValueError says what is wrong."""
        return self.type.parse(text)

    def coerce(self, value: object) -> Any:
        """The setting's value from a Python or TOML value; raises ValueError or TypeError."""
        if value is None:
            if self.optional:
                return None
            raise TypeError("must be set")
        if not self.repeat:
            if isinstance(value, list | tuple) and not isinstance(
                self.type, FieldSet | StatusRanges
            ):
                raise TypeError(f"must be a single value, not {value!r}")
            return self.type.coerce(value)
        many = isinstance(value, list | tuple | set | frozenset)
        items = list(value) if many else [value]  # type: ignore[call-overload]
        return tuple(self.type.coerce(item) for item in items)

    def from_file(self, value: object) -> Any:
        """The field's value from the config-file key's (a negated flag's key inverts it)."""
        coerced = self.coerce(value)
        return not coerced if self.negated else coerced

    def to_file(self, value: Any) -> Toml | None:
        """The config-file key's TOML value for the field's value."""
        return self.dump(not value if self.negated else value)

    def dump(self, value: Any) -> Toml | None:
        """The value as TOML (None when it is not set: TOML has no null)."""
        if value is None:
            return None
        if self.repeat:
            return [self.type.dump(item) for item in value]
        return self.type.dump(value)

    def shown_default(self) -> str | None:
        """The default as help text shows it, or None when there is nothing to show."""
        if self.default_text is not None:
            return self.default_text
        if isinstance(self.type, Flag) or self.default in (None, ()):
            return None
        shown = self.dump(self.default)
        if isinstance(shown, list):
            return " ".join(map(str, shown))
        return f"{shown:g}" if isinstance(shown, float) else str(shown)


def setting(
    default: T,
    type: ValueType[Any],
    help: str,
    *flags: str,
    group: str = "",
    metavar: str | None = None,
    repeat: bool = False,
    optional: bool = False,
    negated: bool = False,
    positional: bool = False,
    widens: bool = False,
    default_text: str | None = None,
    const: Any = None,
) -> T:
    """A dataclass field that is also a row of the settings table."""
    row = Setting(
        type, help, flags, group, metavar, repeat, optional, negated, positional, widens,
        default_text, const=const,
    )  # fmt: skip
    made: T = field(default=default, metadata={"setting": row})
    return made


def table(cls: type) -> tuple[Setting, ...]:
    """The settings rows of a dataclass declared with :func:`setting`, in field order."""
    rows = []
    for item in dataclasses.fields(cls):
        row = item.metadata.get("setting")
        if row is not None:
            rows.append(dataclasses.replace(row, name=item.name, default=item.default))
    return tuple(rows)


def validate(instance: object) -> None:
    """Check and normalise every setting of a frozen dataclass in place (``__post_init__``).

    Strings are read as the command line reads them, so ``Config(verify_images="full")``
    holds the enum member and ``Config(verify_images="ful")`` raises a SettingError.
    """
    for row in table(type(instance)):
        value = getattr(instance, row.name)
        try:
            coerced = row.coerce(value)
        except TypeError as exc:
            raise SettingTypeError(row.name, str(exc)) from None
        except ValueError as exc:
            raise SettingError(row.name, str(exc)) from None
        if coerced is not value:
            object.__setattr__(instance, row.name, coerced)


def from_table(data: Mapping[str, object], rows: Sequence[Setting]) -> dict[str, Any]:
    """Field values from a config-file table; errors name the key.

    Keys are the rows' :attr:`Setting.key`; the values are checked by the same
    value types as the command line, so a file and argv cannot disagree.
    """
    by_key = {row.key: row for row in rows if row.key is not None}
    values: dict[str, Any] = {}
    for key, value in data.items():
        row = by_key.get(key)
        if row is None:
            raise UnknownSettingError(key, by_key)
        try:
            values[row.name] = row.from_file(value)
        except TypeError as exc:
            raise SettingTypeError(key, str(exc)) from None
        except ValueError as exc:
            raise SettingError(key, str(exc)) from None
    return values


def to_toml(rows: Sequence[Setting], values: object) -> list[str]:
    """``key = value`` lines for every non-internal row, values read from ``values``."""
    lines = []
    for row in rows:
        if row.key is None:
            continue
        shown = row.to_file(getattr(values, row.name))
        if shown is None:
            lines.append(f"# {row.key} is not set")
        else:
            lines.append(f"{row.key} = {toml_value(shown)}")
    return lines


def toml_value(value: Toml) -> str:
    """A TOML literal for a value of a settings row."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return '"' + "".join(_toml_char(char) for char in value) + '"'


def _toml_char(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if char < " " or char == "\x7f":
        return f"\\u{ord(char):04x}"
    return char
