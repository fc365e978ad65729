"""A small ast-based mutation tester: do a module's own unit tests notice when its logic changes?

    python -m bench.mutate linkcheck/model/judge.py tests/test_judge.py [--sample N] [--seed S]

Each mutant changes one spot of the module (a comparison, a boolean operator, a ``not``, a
constant, a returned value, a condition, an arithmetic operator, a membership test, a
statement of an if-body). It is written into a snapshot of the package in a temporary
directory (the real file is never touched) and the test files run against it with
``pytest -x -q`` in a subprocess. A mutant the tests fail on is killed; one they pass on
survived, and is either a gap in the tests or equivalent (no observable change).

Equivalent mutants are listed in ``bench/equivalent/<module stem>.txt`` (or ``--equivalent``),
one per line as ``LINE:COLUMN: ORIGINAL -> MUTATED  # why`` (the column may be left out),
exactly as this tool prints survivors; they are not run and not counted in the score. A
timeout (after one retry with a longer limit) counts as killed but is reported apart.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

_COMPARE_SWAPS: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Lt: (ast.LtE, ast.GtE),
    ast.LtE: (ast.Lt, ast.Gt),
    ast.Gt: (ast.GtE, ast.LtE),
    ast.GtE: (ast.Gt, ast.Lt),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
}
_ARITHMETIC_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.BitXor: ast.BitAnd,
}
_ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)
_STATUS_ORDER = ("killed", "survived", "timeout", "equivalent")


@dataclass(frozen=True)
class Mutant:
    """One change: the source span it replaces (1-based lines, 0-based columns) and the text."""

    line: int
    col: int
    end_line: int
    end_col: int
    original: str
    replacement: str
    operator: str

    @property
    def description(self) -> str:
        return f"{_one_line(self.original)} -> {_one_line(self.replacement)}"

    @property
    def label(self) -> str:
        """``LINE:COLUMN: ORIGINAL -> MUTATED`` (1-based column), as equivalence files take it."""
        return f"{self.line}:{self.col + 1}: {self.description}"

    def apply(self, source: str) -> str:
        data = source.encode()
        offsets = [0]
        for text in data.splitlines(keepends=True):  # the line breaks ast counts, unlike str's
            offsets.append(offsets[-1] + len(text))
        start = offsets[self.line - 1] + self.col
        end = offsets[self.end_line - 1] + self.end_col
        return (data[:start] + self.replacement.encode() + data[end:]).decode()


Status = Literal["killed", "survived", "timeout"]


@dataclass(frozen=True)
class Result:
    """How the tests took one mutant, and how long they took."""

    mutant: Mutant
    status: Status
    seconds: float


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _text(node: ast.expr) -> str:
    """Source for ``node`` that can stand wherever the original expression stood."""
    text = ast.unparse(node)
    if isinstance(node, _ATOMS) and not (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
        and node.value < 0
    ):
        return text
    return f"({text})"


def _is_type_union(node: ast.expr) -> bool:
    """``A | B`` of capitalised names: a type alias, not arithmetic."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _is_type_union(node.left) and _is_type_union(node.right)
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return isinstance(node, ast.Attribute | ast.Name) and name[:1].isupper()


class _Collector(ast.NodeVisitor):
    """Walks a module and lists mutants; skips docstrings, annotations and f-strings."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.mutants: list[Mutant] = []

    def _add(self, node: ast.expr | ast.stmt, replacement: str, operator: str) -> None:
        original = ast.get_source_segment(self.source, node)
        end_line, end_col = node.end_lineno, node.end_col_offset
        if original is None or end_line is None or end_col is None or original == replacement:
            return
        line, col = node.lineno, node.col_offset
        self.mutants.append(Mutant(line, col, end_line, end_col, original, replacement, operator))

    # --- things never mutated ------------------------------------------------------------

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        """Messages are not logic; f-string positions are unreliable before Python 3.12."""

    def visit_arg(self, node: ast.arg) -> None:
        """Annotations only."""

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_body(node.body)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_function(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_body(node.body)

    def visit_Module(self, node: ast.Module) -> None:
        self._visit_body(node.body)

    def _visit_body(self, body: list[ast.stmt]) -> None:
        first = body[0] if body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            body = body[1:]
        for statement in body:
            self.visit(statement)

    def visit_Assert(self, node: ast.Assert) -> None:
        """Asserts here narrow types for mypy; negating them only raises AssertionError."""

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        if _is_type_union(node.value):
            return
        self.generic_visit(node)

    # --- operators -------------------------------------------------------------------------

    def visit_Compare(self, node: ast.Compare) -> None:
        for index, op in enumerate(node.ops):
            for swap in _COMPARE_SWAPS.get(type(op), ()):
                ops = list(node.ops)
                ops[index] = swap()
                mutated = ast.Compare(node.left, ops, node.comparators)
                self._add(node, _text(mutated), "compare")
        for operand in [node.left, *node.comparators]:
            if isinstance(operand, ast.Constant) and operand.value is None:
                continue
            self.visit(operand)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        swapped = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self._add(node, _text(ast.BoolOp(swapped, node.values)), "and/or")
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self._add(node, _text(node.operand), "not removed")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        swap = _ARITHMETIC_SWAPS.get(type(node.op))
        if swap is not None:
            self._add(node, _text(ast.BinOp(node.left, swap(), node.right)), "arithmetic")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        swap = _ARITHMETIC_SWAPS.get(type(node.op))
        if swap is not None:
            mutated = ast.AugAssign(node.target, swap(), node.value)
            self._add(node, ast.unparse(mutated), "arithmetic")
        self.visit(node.value)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self._add(node, repr(not value), "constant")
        elif isinstance(value, int):
            for changed in (value + 1, value - 1):
                self._add(node, _text(ast.Constant(changed)), "constant")
        elif isinstance(value, float):
            for scaled in (value * 2 or 1.0, value / 2):
                self._add(node, _text(ast.Constant(scaled)), "constant")
        elif value is None:
            self._add(node, "0", "constant")

    # --- conditions, returns, statements ----------------------------------------------------

    def _negate(self, test: ast.expr) -> None:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return  # removing the ``not`` is the same mutant
        self._add(test, f"not {_text(test)}", "negated condition")

    def visit_If(self, node: ast.If) -> None:
        self._negate(node.test)
        self.visit(node.test)
        self._delete_each(node.body)
        if not (len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If)):
            self._delete_each(node.orelse)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    def visit_While(self, node: ast.While) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        for test in node.ifs:
            self._negate(test)
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        value = node.value
        if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
            self._add(value, "None", "return value")
            self.visit(value)

    def _delete_each(self, body: list[ast.stmt]) -> None:
        for statement in body:
            if not isinstance(statement, ast.Pass):
                self._add(statement, "pass", "statement deleted")


def mutants_of(source: str) -> list[Mutant]:
    """Every mutant of ``source`` that still parses, in source order, without duplicates."""
    collector = _Collector(source)
    collector.visit(ast.parse(source))
    unique: dict[tuple[int, int, int, int, str], Mutant] = {}
    for mutant in collector.mutants:
        key = (mutant.line, mutant.col, mutant.end_line, mutant.end_col, mutant.replacement)
        if key in unique:
            continue
        try:
            ast.parse(mutant.apply(source))
        except SyntaxError:
            continue
        unique[key] = mutant
    return sorted(unique.values(), key=lambda m: (m.line, m.col, m.replacement))


@dataclass(frozen=True)
class Mark:
    """A mutant marked equivalent: ``LINE[:COLUMN]: ORIGINAL -> MUTATED  # why``."""

    line: int
    column: int | None
    description: str

    def matches(self, mutant: Mutant) -> bool:
        return (
            mutant.line == self.line
            and self.column in (None, mutant.col + 1)
            and _one_line(mutant.description) == self.description
        )


_MARK = re.compile(r"^(\d+)(?::(\d+))?:\s*(.+)$")


def read_equivalent(path: Path) -> list[Mark]:
    """The marks in ``path``; blank lines and ``#`` comments ignored, ``  # why`` stripped."""
    if not path.is_file():
        return []
    marks: list[Mark] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.split("  #", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        match = _MARK.match(text)
        if match is None:
            raise SystemExit(f"{path}:{number}: expected 'LINE[:COLUMN]: ORIGINAL -> MUTATED'")
        line, column, description = match.groups()
        marks.append(Mark(int(line), int(column) if column else None, _one_line(description)))
    return marks


class Sandbox:
    """A snapshot of the package and tests in a temporary directory, one mutant at a time."""

    def __init__(self, root: Path, module: Path, tests: Sequence[Path]) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="mutate-"))
        tops = {module.parts[0], *(test.parts[0] for test in tests if len(test.parts) > 1)}
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
        for top in sorted(tops):
            shutil.copytree(root / top, self.directory / top, ignore=ignore)
        for name in ("pyproject.toml", "setup.cfg", "pytest.ini", "conftest.py"):
            if (root / name).is_file():
                shutil.copy2(root / name, self.directory / name)
        for test in tests:
            if len(test.parts) == 1:
                shutil.copy2(root / test, self.directory / test)
        self.module = self.directory / module
        self.original = self.module.read_text(encoding="utf-8")
        self.tests = [str(test) for test in tests]
        self.env = {
            **os.environ,
            "PYTHONPATH": str(self.directory),
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def imports_from_snapshot(self, module: Path) -> bool:
        """Guards against testing the real package (an editable install, say) by mistake."""
        name = ".".join(module.with_suffix("").parts)
        probe = f"import {name} as m; print(m.__file__)"
        out = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        return Path(out.stdout.strip()).resolve() == self.module.resolve()

    def run(self, source: str, timeout: float) -> tuple[Status, float]:
        """("killed" | "survived" | "timeout", seconds) for the tests against ``source``."""
        self.module.write_text(source, encoding="utf-8")
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
        started = time.monotonic()
        try:
            done = subprocess.run(
                [*command, *self.tests],
                cwd=self.directory,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return "timeout", time.monotonic() - started
        finally:
            self.module.write_text(self.original, encoding="utf-8")
        return ("survived" if done.returncode == 0 else "killed"), time.monotonic() - started

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def run_all(
    sandboxes: Sequence[Sandbox],
    mutants: Sequence[Mutant],
    timeout: float,
    report: Callable[[Result], None],
) -> list[Result]:
    """Runs the mutants, one sandbox per worker, reporting each result as it comes."""
    source = sandboxes[0].original

    def worker(index: int) -> Iterator[Result]:
        box = sandboxes[index]
        for mutant in mutants[index :: len(sandboxes)]:
            status, seconds = box.run(mutant.apply(source), timeout)
            if status == "timeout":  # a busy machine, or a real hang: give it one more chance
                status, seconds = box.run(mutant.apply(source), 3 * timeout)
            result = Result(mutant, status, seconds)
            report(result)
            yield result

    with ThreadPoolExecutor(max_workers=len(sandboxes)) as pool:
        batches = pool.map(lambda i: list(worker(i)), range(len(sandboxes)))
        results = [result for batch in batches for result in batch]
    order = {id(mutant): n for n, mutant in enumerate(mutants)}
    return sorted(results, key=lambda r: order[id(r.mutant)])


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mutate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "module", type=Path, help="the module to mutate, relative to the repository"
    )
    parser.add_argument("tests", type=Path, nargs="+", help="test files run against each mutant")
    parser.add_argument("--sample", type=int, help="run only N mutants, chosen at random")
    parser.add_argument("--seed", type=int, default=0, help="random seed for --sample")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument(
        "--timeout", type=float, help="seconds per run (default: 10x the baseline, at least 20)"
    )
    parser.add_argument("--equivalent", type=Path, help="file of mutants marked equivalent")
    parser.add_argument("--list", action="store_true", help="only list the mutants")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    root = Path.cwd()
    module: Path = args.module
    if module.is_absolute():
        module = module.relative_to(root)
    tests = [test.relative_to(root) if test.is_absolute() else test for test in args.tests]
    source = (root / module).read_text(encoding="utf-8")
    mutants = mutants_of(source)
    total = len(mutants)
    if args.sample is not None and args.sample < total:
        mutants = sorted(
            random.Random(args.seed).sample(mutants, args.sample),
            key=lambda m: (m.line, m.col, m.replacement),
        )
    if args.list:
        for mutant in mutants:
            print(f"{mutant.label}  [{mutant.operator}]")
        return 0
    marked_path = args.equivalent or Path(__file__).parent / "equivalent" / f"{module.stem}.txt"
    marks = read_equivalent(marked_path)
    equivalent = [m for m in mutants if any(mark.matches(m) for mark in marks)]
    to_run = [m for m in mutants if m not in equivalent]

    sandboxes = [Sandbox(root, module, tests) for _ in range(max(1, args.jobs))]
    try:
        if sandboxes[0].original != source:
            print("the module changed while the snapshot was taken; try again", file=sys.stderr)
            return 2
        if not sandboxes[0].imports_from_snapshot(module):
            print(f"{module} does not import from the snapshot", file=sys.stderr)
            return 2
        status, baseline = sandboxes[0].run(source, timeout=args.timeout or 600)
        if status != "survived":
            print(f"the tests fail on the unmutated module ({status})", file=sys.stderr)
            return 2
        timeout = args.timeout or max(20.0, 10 * baseline)
        sampled = f" (a sample of {len(mutants)}, seed {args.seed})" if len(mutants) < total else ""
        print(f"{module}: {total} mutants{sampled}; {tests[0] if len(tests) == 1 else tests}")
        print(f"baseline {baseline:.1f}s, timeout {timeout:.0f}s, {len(sandboxes)} job(s)")

        def progress(result: Result) -> None:
            mark = {"killed": ".", "survived": "S", "timeout": "T"}[result.status]
            print(mark, end="", file=sys.stderr, flush=True)

        results = run_all(sandboxes, to_run, timeout, progress)
        print(file=sys.stderr)
    finally:
        for box in sandboxes:
            box.remove()

    counts = {status: 0 for status in _STATUS_ORDER}
    for result in results:
        counts[result.status] += 1
    counts["equivalent"] = len(equivalent)
    print(", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER))
    counted = len(to_run)
    detected = counts["killed"] + counts["timeout"]
    score = 100 * detected / counted if counted else 100.0
    print(f"score: {detected} of {counted} non-equivalent mutants killed ({score:.1f}%)")
    for result in results:
        if result.status != "killed":
            mutant = result.mutant
            print(f"  {result.status}  {mutant.label}  [{mutant.operator}]")
    for mutant in equivalent:
        print(f"  equivalent  {mutant.label}")
    every = mutants_of(source)
    for mark in marks:
        if not any(mark.matches(mutant) for mutant in every):
            print(f"  stale mark in {marked_path} (no such mutant): {mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
