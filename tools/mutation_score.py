"""The mutation score of the test suite on the engine (autograd/): how many small deliberate bugs it catches.

The mutants are mutmut's (its operators, version pinned in the `dev` extra), made for every line of autograd/,
module-level lines included: mutmut's own runner mutates only functions and methods, and would leave out the
table of primitives, whose partials are lambdas at module level. Each mutant is then run here against only the
tests that execute its lines (one coverage context per test), fastest first and stopping at the first failure,
with the differential fuzzer (tests/test_fuzz.py) last and only when every other test misses it. Every test run is
a fork of this process, which has numpy and pytest loaded but nothing of the project; the mutant is written into a
copy of the project (.mutation/tree), never into the sources.

    pip install -e '.[dev]'
    nice -n 10 python tools/mutation_score.py          # resumes where a stopped run stopped; --fresh starts over
    python tools/mutation_score.py --report           # the score by module, and the survivors not yet explained
    python tools/mutation_score.py --against tests/test_x.py::test_new   # survivors again, against new tests
    nice python tools/mutation_score.py lstm/model/fused.py --suite tests/test_fused.py ...   # another file, its tests

Verdicts go to .mutation/results.jsonl as they come. A kill is kept across runs (tests are only added; --fresh
re-runs everything), survivors and timeouts are run again. Mutants declared equivalent in
tools/mutation_equivalents.toml (one row each, with the reason) count as equivalent, not as survivors, and are not
run again. A row names its mutant by what it changes, not where: the file, the text of the mutated line (its
first, whitespace folded), and the code before and after, so editing other lines of the file leaves it valid.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
TREE = WORK / "tree"
RESULTS = WORK / "results.jsonl"
COVERAGE = WORK / "coverage.json"
DOCS = ROOT / "docs" / "testing.md"
EQUIVALENTS = Path(__file__).resolve().with_name("mutation_equivalents.toml")
MUTATED = "autograd"
FUZZER = "tests/test_fuzz.py::"
# Fixed seeds and no example database, so a verdict does not depend on what earlier mutants made hypothesis find.
PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0"]
# Loaded once here, before any fork, so a test run does not pay for them again; nothing of the project.
PRELOAD = ("numpy", "pytest", "hypothesis", "graphviz", "pygraphviz", "tqdm")


@dataclass(frozen=True)
class Mutant:
    path: str  # autograd/graph.py
    line: int
    last_line: int
    before: str
    after: str
    code: str  # the whole mutated file
    line_code: str  # the original text of its first line, whitespace folded

    @property
    def described_as(self) -> tuple[str, str, str, str]:
        """What a row of the equivalents names it by: the file, its line's text, the code before and after."""
        return self.path, fold(self.line_code), fold(self.before), fold(self.after)

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.path}\n{self.code}".encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"{Path(self.path).name}:{self.line}"

    def describe(self) -> str:
        return f"{self.label}  {_one_line(self.before)}  →  {_one_line(self.after)}"


def fold(code: str) -> str:
    """Code on one line, every run of whitespace one space."""
    return " ".join(code.split())


def _one_line(code: str, width: int = 90) -> str:
    text = fold(code)
    return text if len(text) <= width else text[: width - 1] + "…"


def mutants(path: Path) -> list[Mutant]:
    """Every mutant mutmut's operators make of one file, each as the whole mutated file; duplicates once."""
    from libcst import SimpleString
    from libcst.matchers import Raise, findall
    from libcst.metadata import MetadataWrapper, WhitespaceInclusivePositionProvider
    from mutmut.mutation.file_mutation import create_mutations

    source = path.read_text()
    with contextlib.chdir(ROOT):  # mutmut reads its configuration, [tool.mutmut], from the working directory
        module, mutations, _, _ = create_mutations(str(path), source)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(WhitespaceInclusivePositionProvider)
    messages = {id(node) for raised in findall(module, Raise()) for node in _descendants(raised)}
    lines = source.splitlines(keepends=True)
    offsets = [0, *itertools.accumulate(len(line) for line in lines)]
    found, seen = [], {source}
    for mutation in mutations:
        if isinstance(mutation.original_node, SimpleString) and id(mutation.original_node) in messages:
            continue  # the letters of an error message (see the module's docstring)
        where = positions[mutation.original_node]
        start = offsets[where.start.line - 1] + where.start.column
        end = offsets[where.end.line - 1] + where.end.column
        before, after = module.code_for_node(mutation.original_node), module.code_for_node(mutation.mutated_node)
        if source[start:end] == before:  # splice the text: the same file as deep_replace makes, many times faster
            code = source[:start] + after + source[end:]
        else:
            code = module.deep_replace(mutation.original_node, mutation.mutated_node).code
        if code in seen:
            continue
        seen.add(code)
        found.append(Mutant(str(path.relative_to(ROOT)), where.start.line, where.end.line, before, after, code,
                            fold(lines[where.start.line - 1])))
    return found


def _descendants(node: Any) -> list[Any]:
    found, stack = [], [node]
    while stack:
        found.append(stack.pop())
        stack.extend(found[-1].children)
    return found


def targets(only: list[str] = ()) -> list[Path]:
    """Every module of the engine, or the modules named (graph, ops, ...) and the files given (lstm/model/fused.py)."""
    engine = [path for path in sorted((ROOT / MUTATED).glob("*.py")) if not only or path.stem in only]
    return engine + [ROOT / name for name in only if name.endswith(".py")]


def all_mutants(only: list[str] = ()) -> list[Mutant]:
    return [m for path in targets(only) for m in mutants(path)]


# ---- running pytest in a fork -----------------------------------------------------------------------------------

STAMPS = itertools.count(int(time.time()) + 10**6)  # file times no real file has
TIMED_OUT = 124  # the exit code of a fork whose test ran past its time


def in_fork(work: Callable[[], int], timeout: float) -> int | None:
    """work() in a fork working in the copy of the project: its exit code, or None when the fork ran past `timeout`
    seconds or a test past its own limit (the fork and everything it started are killed)."""
    pid = os.fork()
    if pid == 0:  # the fork: never returns
        code = 3
        try:
            os.setpgid(0, 0)
            with open(WORK / "last-run.log", "w") as out:
                os.dup2(out.fileno(), 1)
                os.dup2(out.fileno(), 2)
            os.chdir(TREE)
            sys.path[0] = str(TREE)
            code = work()
        finally:
            sys.stdout.flush()
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return None if code == TIMED_OUT else code
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.02)


class TimeLimit:
    """A pytest plugin: a test that runs ten times as long as it did unmutated plus a minute ends the fork, so an
    infinite loop costs a minute, not the whole run's time limit. The minute is for a test that was fast in the
    suite only because an earlier test filled a cache it reads: alone it does that work itself (the bug zoo's
    report takes 12 s), and must not pass for an infinite loop."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds

    def pytest_runtest_setup(self, item: Any) -> None:
        signal.signal(signal.SIGALRM, lambda *_: os._exit(TIMED_OUT))
        signal.alarm(int(60 + 10 * self.seconds.get(item.nodeid, 1.0)))

    def pytest_runtest_teardown(self, item: Any) -> None:
        signal.alarm(0)


def run_pytest(args: list[str], timeout: float, plugins: list[object]) -> int | None:
    import pytest

    return in_fork(lambda: int(pytest.main(args, plugins=plugins)), timeout)


def project_files() -> list[Path]:
    """What git tracks, or would (tests and docs read README.md, docs/, .ci/ as well as the code)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.splitlines()
    return sorted(ROOT / name for name in listed if (ROOT / name).is_file())


def copy_tree() -> None:
    shutil.rmtree(TREE, ignore_errors=True)
    for path in project_files():
        (TREE / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, TREE / path.relative_to(ROOT))
    # a repository of its own: tests that list the project's files with git would find none in this ignored folder
    subprocess.run(["git", "init", "-q"], cwd=TREE, check=True)


def fingerprint(suite: list[str] = ()) -> str:
    """Of everything a test run reads, and the tests measured: when either changes, coverage is measured again."""
    digest = hashlib.sha256("\n".join(suite).encode())
    for path in project_files():
        if path not in (Path(__file__).resolve(), DOCS, EQUIVALENTS):  # this script, its rows, the page it feeds
            digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


class PerTest:
    """A pytest plugin: one coverage context per test (its node id), and each test's duration."""

    def __init__(self, coverage: Any) -> None:
        self.coverage, self.seconds = coverage, Counter()

    def pytest_runtest_setup(self, item: Any) -> None:
        self.coverage.switch_context(item.nodeid)

    def pytest_runtest_teardown(self, item: Any) -> None:
        self.coverage.switch_context("")

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.seconds[report.nodeid] += report.duration


def measure_coverage(suite: list[str]) -> dict:
    """Run the suite (or the tests of `suite`) once, unmutated, recording which test executes which line of the
    project (tests included: a test reading a constant of the engine counts as using it) and each test's time."""

    measured_from = fingerprint(suite)  # of the files the tree was copied from: one edited during the run is not

    def measure() -> int:
        import coverage
        import pytest

        cov = coverage.Coverage(data_file=None, source=[str(TREE)], omit=[str(TREE / "tools" / "*")])
        plugin = PerTest(cov)
        cov.start()
        code = int(pytest.main([*suite, "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0"], plugins=[plugin]))
        cov.stop()
        data = cov.get_data()
        lines = {str(Path(f).relative_to(TREE)): {line: sorted(c for c in contexts if c)
                                                  for line, contexts in data.contexts_by_lineno(f).items()}
                 for f in data.measured_files()}
        if code == 0:  # a suite that fails unmutated measures nothing a verdict could rest on
            COVERAGE.write_text(json.dumps({"fingerprint": measured_from, "lines": lines, "seconds": plugin.seconds}))
        return code

    print(f"measuring which test executes which line ({' '.join(suite) or 'the whole suite'}, once)...", flush=True)
    code = in_fork(measure, 3 * 3600)
    if code != 0:
        sys.exit(f"the suite does not pass unmutated (pytest exit code {code}): see {WORK / 'last-run.log'}")
    return json.loads(COVERAGE.read_text())


class Selection:
    """Which tests a mutant needs: those that execute its lines, or, where its lines run only while the module is
    imported, those that can see what they made there.

    - a line inside a function, or a lambda of the table: the tests that execute that line (of a statement over
      several lines, its first line, which is the one coverage records);
    - a default in a function's signature: the tests that execute the function's body;
    - a class attribute (a dataclass field, __slots__): the tests that execute any line of the class;
    - a module-level name (a constant, a table row, __all__): the tests that execute any line of the project
      reading that name, outside annotations, which are never evaluated.
    None where no test does: the mutant counts as reached by no test.
    """

    def __init__(self, measured: dict) -> None:
        self.lines: dict[str, dict[str, list[str]]] = measured["lines"]
        self.seconds: dict[str, float] = measured["seconds"]
        self.readers: dict[str, set[tuple[str, int]]] = defaultdict(set)  # name → (file, line) reading it
        self.trees: dict[str, ast.Module] = {}
        for path in project_files():
            if path.suffix == ".py" and path.relative_to(ROOT).parts[0] != "tools":  # this script, never tested
                relative = str(path.relative_to(ROOT))
                tree = self.trees[relative] = ast.parse(path.read_text())
                self._find_readers(relative, tree)

    def _find_readers(self, path: str, tree: ast.Module) -> None:
        annotations = {id(n) for node in ast.walk(tree) for a in _annotations(node) for n in ast.walk(a)}
        for node, statement_line in _with_statement_lines(tree):
            if id(node) in annotations:
                continue
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                name = node.id
            elif isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                name = node.value  # getattr(module, "name", ...)
            else:
                continue
            # the statement's first line too: coverage may never see the node's own line (a constant inside a
            # dict literal spread over lines is folded into one constant, with the line of the literal's start)
            self.readers[name] |= {(path, node.lineno), (path, statement_line)}

    def first_importer(self, path: str) -> str:
        """The fastest test that runs any line of the file, so imports it."""
        return min(self.executed_by_any(path), key=lambda t: (self.seconds.get(t, 0.0), t))

    def executed_by_any(self, prefix: str) -> set[str]:
        return {t for path, lines in self.lines.items() if path.startswith(prefix) for c in lines.values() for t in c}

    def executed_by(self, path: str, lines: range) -> set[str]:
        executed = self.lines.get(path, {})
        return set().union(*(executed.get(str(n), ()) for n in lines))

    def tests(self, mutant: Mutant) -> set[str] | None:
        path = mutant.path
        chain = _statements_containing(self.trees[path], mutant.line, mutant.last_line)
        innermost = chain[-1]
        tests = self.executed_by(path, range(mutant.line, mutant.last_line + 1))
        tests |= self.executed_by(path, range(innermost.lineno, innermost.lineno + 1))
        if any(isinstance(s, ast.FunctionDef) for s in chain[:-1]):
            return tests or None
        if isinstance(innermost, ast.FunctionDef):  # a default in a signature
            return tests | self.executed_by(path, _lines(innermost)) or None
        # runs at import (a table row whose lambdas tests run, too): what it binds, and who reads that
        top = chain[0]
        tests |= self.executed_by(path, _lines(top))
        for name in _bound_names(top):
            for reader, line in self.readers[name]:
                tests |= self.executed_by(reader, range(line, line + 1))
        return tests | {self.first_importer(path)}  # a mutant that breaks the import fails every test


def _with_statement_lines(tree: ast.Module) -> list[tuple[ast.AST, int]]:
    """Every node, with the first line of the innermost statement holding it (a compound statement's header holds
    only its own expressions; its body's statements hold theirs)."""
    found, stack = [], [(tree, 0)]
    while stack:
        node, line = stack.pop()
        line = node.lineno if isinstance(node, ast.stmt) else line
        found.append((node, line))
        stack.extend((child, line) for child in ast.iter_child_nodes(node))
    return found


def _lines(statement: ast.stmt) -> range:
    return range(statement.lineno, statement.end_lineno + 1)


def _annotations(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.arg):
        return [node.annotation] if node.annotation else []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [node.returns] if node.returns else []
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    return []


def _statements_containing(tree: ast.Module, first: int, last: int) -> list[ast.stmt]:
    """The statements whose lines hold lines first..last, outermost first."""
    chain, body = [], tree.body
    while True:
        inside = next((s for s in body if s.lineno <= first and last <= s.end_lineno), None)
        if inside is None:
            return chain
        chain.append(inside)
        body = [child for field in ("body", "orelse", "finalbody", "handlers") for child in getattr(inside, field, [])]


def _bound_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
        return [statement.name]
    targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
    return [n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)]


def tests_for(mutant: Mutant, measured: dict, selection: Selection) -> list[str] | None:
    """The tests that can catch the mutant, fastest first; None when none can (see Selection)."""
    tests = selection.tests(mutant)
    return None if tests is None else sorted(tests, key=lambda t: (measured["seconds"].get(t, 0.0), t))


# ---- verdicts ---------------------------------------------------------------------------------------------------


def run_mutant(mutant: Mutant, tests: list[str], seconds: dict[str, float]) -> dict:
    """Write the mutant into the copy, run its tests (the fuzzer's last), put the file back: the verdict."""
    target = TREE / mutant.path
    original, kept = target.read_text(), target.stat()
    target.write_text(mutant.code)
    # A time of its own, so the bytecode cached for the file (by mtime and size) is never taken for this mutant's
    stamp = next(STAMPS)
    os.utime(target, (stamp, stamp))
    started = time.monotonic()
    try:
        for stage in ([t for t in tests if not t.startswith(FUZZER)], [t for t in tests if t.startswith(FUZZER)]):
            if not stage:
                continue
            timeout = 300 + 10 * sum(seconds.get(t, 1.0) for t in stage)
            code = run_pytest(stage + PYTEST_ARGS, timeout, [TimeLimit(seconds)])
            if code == 4 and "ERROR: not found:" in (WORK / "last-run.log").read_text():
                # a test named after an engine's name (a primitive's, in its parameters) that the mutant renamed:
                # the tests by function, every parameter set, so the renamed ones run under their new names
                functions = list(dict.fromkeys(t.split("[")[0] for t in stage))  # still fastest first
                code = run_pytest(functions + PYTEST_ARGS, 3 * timeout, [TimeLimit(seconds)])
            if code is None:
                return {"verdict": "timeout"}
            broken = "ERROR collecting" in (WORK / "last-run.log").read_text()  # the mutant breaks an import
            if code in (4, 5) and not broken:  # usage error, no tests collected: this script's fault
                sys.exit(f"pytest exit code {code} for {mutant.describe()}: see {WORK / 'last-run.log'}")
            if code != 0:  # failed, collection broken by the mutant, or crashed: caught
                return {"verdict": "killed", "by": "fuzzer" if stage[0].startswith(FUZZER) else "tests"}
        return {"verdict": "survived"}
    finally:
        target.write_text(original)
        os.utime(target, ns=(kept.st_atime_ns, kept.st_mtime_ns))
        print(f"  {time.monotonic() - started:5.1f} s", flush=True)


def load_results() -> dict[str, dict]:
    results = {}
    if RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            entry = json.loads(line)
            results[entry["key"]] = entry
    return results


def prepare() -> None:
    """A fresh copy of the project to mutate, and the libraries every test run needs loaded before the forks."""
    WORK.mkdir(exist_ok=True)
    copy_tree()
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            __import__(name)


def record(mutant: Mutant, verdict: dict) -> None:
    with RESULTS.open("a") as out:
        out.write(json.dumps({"key": mutant.key, "mutant": mutant.describe(), **verdict}) + "\n")


def rerun_survivors(only: list[str], tests: list[str]) -> None:
    """The survivors not explained as equivalent, run again against `tests` alone (the tests written for them):
    a verdict in minutes, where measuring the suite's coverage again would take a quarter of an hour."""
    prepare()
    if run_pytest(tests + PYTEST_ARGS, 600, []) != 0:  # else every mutant would count as killed by them
        sys.exit(f"the tests given to --against fail unmutated: see {WORK / 'last-run.log'}")
    results, equivalent = load_results(), declared_equivalent()
    todo = [m for m in all_mutants(only) if results.get(m.key, {}).get("verdict") in ("survived", "no tests")
            and m.described_as not in equivalent]
    for n, mutant in enumerate(todo, 1):
        print(f"[{n}/{len(todo)}] {mutant.describe()} (against {len(tests)})", end="", flush=True)
        record(mutant, run_mutant(mutant, tests, {}))


def run(only: list[str], suite: list[str]) -> None:
    prepare()
    measured = json.loads(COVERAGE.read_text()) if COVERAGE.exists() else None
    if measured is None or measured["fingerprint"] != fingerprint(suite):
        measured = measure_coverage(suite)
    results, selection, todo = load_results(), Selection(measured), all_mutants(only)
    unrun = read_as_equivalent(todo, declared_equivalent())  # a row names its file: the modules run suffice
    for n, mutant in enumerate(todo, 1):
        # explained as equivalent: running it would only spend its tests' whole time confirming what reading showed
        if results.get(mutant.key, {}).get("verdict") == "killed" or mutant.described_as in unrun:
            continue
        tests = tests_for(mutant, measured, selection)
        print(f"[{n}/{len(todo)}] {mutant.describe()} ({0 if tests is None else len(tests)} tests)", end="",
              flush=True)
        if tests is None:
            print()
        record(mutant, {"verdict": "no tests"} if tests is None else run_mutant(mutant, tests, measured["seconds"]))


# ---- the report -------------------------------------------------------------------------------------------------


Described = tuple[str, str, str, str]  # file, its line's text, before, after: Mutant.described_as


def declared_equivalent(path: Path = EQUIVALENTS) -> dict[Described, dict[str, str]]:
    """The mutants explained as equivalent: the rows of tools/mutation_equivalents.toml, by what each names."""
    rows = tomllib.loads(path.read_text())["equivalent"] if path.exists() else []
    found: dict[Described, dict[str, str]] = {}
    for n, row in enumerate(rows, 1):
        if sorted(row) != ["after", "before", "code", "file", "why"] or not all(row.values()):
            sys.exit(f"{path.name}: row {n} needs exactly file, code, before, after and why: {row}")
        described = (row["file"], fold(row["code"]), fold(row["before"]), fold(row["after"]))
        if described in found:
            sys.exit(f"{path.name}: row {n} names the same mutants as an earlier row: {described}")
        found[described] = row
    return found


def read_as_equivalent(every: list[Mutant], equivalent: dict[Described, Any]) -> set[Described]:
    """The explained mutants that need not run: those no other mutant is described like. Two `True`s on one line,
    or one change on two lines of the same text, make mutants described alike, and a row cannot say which of them
    it means: all of them run, and only a survivor among them counts as the row's."""
    described = Counter(m.described_as for m in every)
    return {text for text in equivalent if described[text] == 1}


def report(only: list[str] = ()) -> int:
    results, equivalent, every = load_results(), declared_equivalent(), all_mutants(only)
    unrun = read_as_equivalent(every, equivalent)
    by_module: dict[str, Counter] = defaultdict(Counter)
    unexplained, missing = [], 0
    for mutant in every:
        entry = results.get(mutant.key)
        module = Path(mutant.path).name
        if entry is None and mutant.described_as in unrun:
            entry = {"verdict": "survived"}  # explained, so never run
        if entry is None:
            missing += 1
            continue
        verdict = entry["verdict"]
        if verdict in ("survived", "no tests") and mutant.described_as in equivalent:
            verdict = "equivalent"
        elif verdict == "killed":
            verdict = "killed by the fuzzer alone" if entry.get("by") == "fuzzer" else "killed"
        elif verdict != "timeout":
            unexplained.append(f"{verdict:9} {mutant.describe()}\n          in: {mutant.line_code}")
        by_module[module][verdict] += 1
    columns = ["killed", "killed by the fuzzer alone", "timeout", "equivalent", "survived", "no tests"]
    print("| module | mutants | " + " | ".join(columns) + " | score |")
    print("|---|" + "---:|" * (len(columns) + 2))
    for module, counts in [*sorted(by_module.items()), ("all", sum(by_module.values(), Counter()))]:
        n = sum(counts.values())
        caught = counts["killed"] + counts["killed by the fuzzer alone"] + counts["timeout"]
        score = f"{100 * caught / max(1, n - counts['equivalent']):.1f}%"
        print(f"| {module} | {n} | " + " | ".join(str(counts[c]) for c in columns) + f" | {score} |")
    if missing:
        print(f"\n{missing} mutants have no verdict yet: run `python tools/mutation_score.py`")
    if unexplained:
        print(f"\n{len(unexplained)} survivors are neither killed nor explained as equivalent:")
        print("\n".join(unexplained))
    files = {m.path for m in every}  # rows of the other files are not this report's
    stale = {text for text in equivalent if text[0] in files} - {m.described_as for m in every}
    if stale:
        print(f"\n{EQUIVALENTS.name} explains {len(stale)} mutants the code no longer makes:")
        print("\n".join(f"{file}  {before}  →  {after}\n    in: {code}" for file, code, before, after in sorted(stale)))
    return 1 if unexplained or missing or stale else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="only these modules of autograd/ (e.g. graph ops), or these "
                        "files (e.g. lstm/model/fused.py)")
    parser.add_argument("--suite", nargs="+", default=[], metavar="TEST", help="measure which test executes which "
                        "line over these tests only (default: the whole suite)")
    parser.add_argument("--fresh", action="store_true", help="forget every verdict and run all mutants again")
    parser.add_argument("--report", action="store_true", help="print the score and the unexplained survivors")
    parser.add_argument("--against", nargs="+", metavar="TEST", help="run the unexplained survivors again, "
                        "against these tests only (pytest node ids or files)")
    args = parser.parse_args()
    if args.report:
        return report(args.modules)
    if args.against:
        rerun_survivors(args.modules, args.against)
        return report(args.modules)
    if args.fresh and RESULTS.exists():
        RESULTS.unlink()
    run(args.modules, args.suite)
    return report(args.modules)


if __name__ == "__main__":
    sys.exit(main())
