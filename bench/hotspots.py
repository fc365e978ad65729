"""Summarise a py-spy raw profile (``--profile py-spy --profile-out FILE.txt``) as hot spots.

    python -m bench.hotspots profile.txt [--top 25]

Prints, as shares of all samples: self time by function (with its hottest line), inclusive
time by function, and self time by top-level package. A frame is ``name (path:line)``.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<name>.*) \((?P<path>.*?):(?P<line>\d+)\)$")


@dataclass(frozen=True)
class Hotspots:
    """Sample counts keyed by function (``path:name``), hottest line and package."""

    total: int
    self_time: Counter[str]
    inclusive: Counter[str]
    lines: Counter[str]
    packages: Counter[str]


def _split(frame: str) -> tuple[str, str, str]:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), "?", "0"
    return match["name"], match["path"], match["line"]


def _package(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    if parts[0] in ("linkcheck", "bench"):
        return parts[0]
    return parts[0] if len(parts) > 1 else "stdlib:" + parts[0].removesuffix(".py")


def read_raw(path: Path) -> Hotspots:
    """Aggregate py-spy's collapsed stacks (``frame;frame;... count`` per line)."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_split(frame) for frame in stack.split(";")]
        name, file, line = frames[-1]
        self_time[f"{file}:{name}"] += count
        lines[f"{file}:{line} {name}"] += count
        packages[_package(file)] += count
        for key in {f"{f}:{n}" for n, f, _ in frames}:
            inclusive[key] += count
    return Hotspots(total, self_time, inclusive, lines, packages)


def format_hotspots(spots: Hotspots, top: int = 25) -> str:
    """Three ranked lists, each entry as a share of all samples."""

    def ranked(title: str, counter: Counter[str]) -> list[str]:
        out = [title]
        for key, count in counter.most_common(top):
            out.append(f"  {count / spots.total:6.1%}  {key}")
        return out

    hottest_line: dict[str, str] = {}
    for key, _ in spots.lines.most_common():
        location, _, name = key.partition(" ")
        file = location.rsplit(":", 1)[0]
        hottest_line.setdefault(f"{file}:{name}", location)
    by_function = Counter(
        {f"{key}  [{hottest_line.get(key, '?')}]": n for key, n in spots.self_time.items()}
    )
    return "\n".join(
        [
            f"{spots.total} samples",
            *ranked("self time by function  [hottest line]", by_function),
            *ranked("inclusive time by function", spots.inclusive),
            *ranked("self time by package", spots.packages),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hotspots", description=__doc__)
    parser.add_argument("profile", type=Path, help="py-spy raw output (-f raw)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    print(format_hotspots(read_raw(args.profile), args.top))


if __name__ == "__main__":
    main()
