"""The fuzz targets of tests/test_fuzz.py, run long: inputs tried and distinct exceptions.

Same strategies and properties as the tests (``tests/fuzz_support.py``), but a failure
does not stop the run: each is tallied by exception type and code site, with its first
input, and the run goes on. Nothing leaves the machine (127.0.0.1 only; names resolve
to loopback while a run is fuzzed)::

    .venv/bin/python -m bench.fuzz --target seeds --examples 100000
    .venv/bin/python -m bench.fuzz --target answers --examples 2000 --time-limit 600
    .venv/bin/python -m bench.fuzz --target all --examples 500 --json fuzz.json

Targets: ``seeds`` (parse_seed), ``folders`` (whole runs over seed folders), ``answers``
(generated server answers through the real checker), ``images`` (the header parser),
``decode`` (``--verify-images full`` over served image bytes). Batch targets count each
URL or file as one input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.fuzz_support import (
    Answer,
    Served,
    answers,
    check_answers,
    check_image_bytes,
    check_seed_folder,
    check_seed_text,
    decode_inputs,
    describe,
    full_answers,
    image_bytes,
    page_answer,
    scratch,
    seed_folders,
    seed_texts,
)
from tests.hostile import HostileServer

TARGETS = ("seeds", "folders", "answers", "images", "decode")


class _TimeUp(BaseException):
    """Ends the generation loop early (a BaseException, so hypothesis does not shrink it)."""


@dataclass
class Finding:
    count: int
    message: str
    example: str


@dataclass
class Tally:
    """What one target's run tried and what escaped."""

    target: str
    inputs: int = 0
    runs: int = 0
    failed_runs: int = 0
    seconds: float = 0.0
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)

    def record(self, exc: BaseException, example: Any) -> None:
        self.failed_runs += 1
        key = describe(exc)
        found = self.findings.get(key)
        if found is None:
            text = " ".join(str(exc).split())[:300]
            self.findings[key] = Finding(1, text, repr(example)[:100_000])
        else:
            found.count += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "inputs": self.inputs,
            "runs": self.runs,
            "failed_runs": self.failed_runs,
            "seconds": round(self.seconds, 1),
            "distinct_exceptions": len(self.findings),
            "findings": [
                {"type": kind, "site": where, **vars(found)}
                for (kind, where), found in sorted(
                    self.findings.items(), key=lambda item: -item[1].count
                )
            ],
            "verdict_reasons": dict(self.reasons.most_common()),
        }


def _verdicts(tally: Tally, report: dict[str, Any]) -> None:
    for entry in report["seeds"]:
        for item in entry["checks"]:
            tally.reasons[item["reason"]] += 1


@contextmanager
def _server() -> Iterator[Served]:
    with HostileServer() as server:
        yield Served(server)


def _driver(
    target: str, tally: Tally, stack: ExitStack
) -> tuple[st.SearchStrategy[Any], Callable[[Any], None]]:
    """The strategy of ``target`` and the function running one example's property."""
    if target == "seeds":

        def one_seed(data: bytes) -> None:
            tally.inputs += 1
            check_seed_text(data)

        return seed_texts(), one_seed
    if target == "images":

        def one_image(data: bytes) -> None:
            tally.inputs += 1
            check_image_bytes(data)

        return image_bytes(), one_image
    if target == "folders":

        def one_folder(files: list[tuple[bytes, bytes]]) -> None:
            tally.inputs += len(files)
            with scratch() as directory:
                _verdicts(tally, check_seed_folder(files, directory))

        return seed_folders(), one_folder
    served = stack.enter_context(_server())
    if target == "answers":

        def one_batch(batch: list[Answer]) -> None:
            tally.inputs += len(batch)
            with scratch() as directory:
                _verdicts(tally, check_answers(served, batch, directory))

        return st.lists(answers(), min_size=1, max_size=8), one_batch

    def one_decode(images: list[tuple[bytes, bytes | None]]) -> None:
        tally.inputs += len(images)
        batch = [page_answer(), *full_answers(images)]
        with scratch() as directory:
            _verdicts(tally, check_answers(served, batch, directory, verify_images="full"))

    return st.lists(decode_inputs(), min_size=1, max_size=8), one_decode


def run_target(target: str, examples: int, seed_value: int, time_limit: float | None) -> Tally:
    """Generate ``examples`` inputs for ``target`` and tally every failure of its property."""
    tally = Tally(target)
    started = time.monotonic()
    with ExitStack() as stack:
        strategy, one = _driver(target, tally, stack)

        def body(example: Any) -> None:
            if time_limit is not None and time.monotonic() - started > time_limit:
                raise _TimeUp
            tally.runs += 1
            try:
                one(example)
            except Exception as exc:
                tally.record(exc, example)

        run = seed(seed_value)(
            settings(
                max_examples=examples,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(given(strategy)(body))
        )
        with suppress(_TimeUp):
            run()
    tally.seconds = time.monotonic() - started
    return tally


def show(tally: Tally) -> None:
    rate = tally.inputs / tally.seconds if tally.seconds else 0.0
    print(
        f"{tally.target}: {tally.inputs} inputs in {tally.runs} runs, {tally.seconds:.1f} s "
        f"({rate:.0f}/s); {tally.failed_runs} runs failed, "
        f"{len(tally.findings)} distinct exceptions"
    )
    for (kind, where), found in sorted(tally.findings.items(), key=lambda i: -i[1].count):
        print(f"  {found.count:6d}  {kind} at {where}: {found.message[:160]}")
        print(f"          first input: {found.example[:200]}")
    if tally.reasons:
        print("  verdict reasons: " + ", ".join(f"{k} {v}" for k, v in tally.reasons.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--target", choices=(*TARGETS, "all"), default="all")
    parser.add_argument("--examples", type=int, default=1000, help="inputs (runs) per target")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    parser.add_argument("--time-limit", type=float, help="seconds per target, at most")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    targets = TARGETS if args.target == "all" else (args.target,)
    tallies = []
    for target in targets:
        tally = run_target(target, args.examples, args.seed, args.time_limit)
        show(tally)
        tallies.append(tally)
    if args.json:
        text = json.dumps([tally.to_dict() for tally in tallies], indent=1)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 1 if any(tally.findings for tally in tallies) else 0


if __name__ == "__main__":
    sys.exit(main())
