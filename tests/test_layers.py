"""The layers: data flows one way, autograd ← lstm ← viz ← the application (lstm_autograd: its audit and training,
then its command line), and the benchmarks, run from a checkout, on top.

Every import of every module is read with `ast`, also the ones inside functions, so no layer can reach up by
hiding an import where it runs late.
"""

import argparse
import ast
import re
import tokenize
import tomllib
from dataclasses import dataclass
from pathlib import Path

from lstm_autograd.cli import build_parser

ROOT = Path(__file__).parent.parent
# A package may import only packages of a lower layer; packages of one layer never import each other.
LAYERS = {"autograd": 1, "lstm": 2, "viz": 3, "lstm_autograd": 4, "benchmarks": 5}
# Inside the application: the audit and training below the command line (and its options), never each other.
APPLICATION = {"lstm_autograd.audit": 1, "lstm_autograd.training": 1, "lstm_autograd.options": 1,
               "lstm_autograd.cli": 2, "lstm_autograd.__main__": 3}
# The four packages `pip install .` puts into site-packages.
INSTALLED = ("autograd", "lstm", "viz", "lstm_autograd")
# the hand BPTT, its names and the parameters' shapes: nothing of the engine, or of anything
WITNESSES = ("lstm.derivation.hand", "lstm.names", "lstm.shapes")
# The one cycle allowed: Tensor's operators call the table of primitives, which makes Tensors, so tensor.py imports
# ops at its end, once the class exists (the engine's own decision; see autograd/tensor.py).
ALLOWED_CYCLE_EDGES = {("autograd.tensor", "autograd.ops")}
# Whether `autograd` is this project's engine (not HIPS autograd installed over it) can only be asked from outside
# the engine; every other package imports this one check first, its own layer's sibling audit included.
INSTALL_CHECK = "lstm.installed"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports, resolved to a module of the project where it names one
    where: str  # file:line
    local: bool  # inside a function
    typing_only: bool = False  # under `if TYPE_CHECKING:`, for annotations: never run

    @property
    def package(self) -> str:
        return self.target.split(".")[0]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for package in LAYERS for path in sorted((ROOT / package).rglob("*.py"))}


def imports_of(module: str, path: Path, known: dict[str, Path], root: Path = ROOT) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    inside_functions = {id(node) for function in ast.walk(tree)
                        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                        for node in ast.walk(function)}
    for_typing = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                  and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                  for statement in block.body for node in ast.walk(statement)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importing module's package
                package = module.split(".")[: len(module.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join([*package, *([base] if base else [])])
            # `from lstm.derivation import hand` imports the module lstm.derivation.hand
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        where = f"{path.relative_to(root)}:{node.lineno}"
        found += [Import(module, target, where, id(node) in inside_functions, id(node) in for_typing)
                  for target in targets]
    return found


def all_imports() -> list[Import]:
    known = modules()
    return [i for module, path in known.items() for i in imports_of(module, path, known)]


def group(module: str) -> str:
    """The room a module belongs to: its package, or inside the application the part APPLICATION names."""
    return next((name for name in APPLICATION if module == name or module.startswith(name + ".")),
                module.split(".")[0])


def upward(imports: list[Import]) -> list[str]:
    """The imports of a package (or a part of the application) of its own layer or a higher one, each named with
    where it stands."""
    wrong = []
    for i in imports:
        own = i.module.split(".")[0]
        if i.package not in LAYERS or group(i.target) == group(i.module) or i.target == "lstm_autograd":
            continue
        if i.package == own == "lstm_autograd":
            if APPLICATION.get(group(i.target), 0) >= APPLICATION.get(group(i.module), 0):
                below = ", ".join(n for n, layer in APPLICATION.items() if layer < APPLICATION[group(i.module)])
                wrong.append(f"{i.where}: {i.module} imports {i.target}, but {group(i.module)} may import only "
                             f"{below or 'no part'} of the application")
        elif LAYERS[i.package] >= LAYERS[own] and not (i.target == INSTALL_CHECK and own != "autograd"):
            allowed = ", ".join(name for name, layer in LAYERS.items() if layer < LAYERS[own]) or "no package"
            wrong.append(f"{i.where}: {i.module} imports {i.target}, but {own} (layer {LAYERS[own]}) may import "
                         f"only {allowed}")
    return wrong


def hidden(imports: list[Import]) -> list[str]:
    """Imports of the project inside functions: only an optional dependency may be imported late."""
    return [f"{i.where}: {i.module} imports {i.target} inside a function" for i in imports
            if i.local and i.package in LAYERS]


def cycles(imports: list[Import]) -> list[str]:
    graph: dict[str, set[str]] = {}
    for i in imports:
        if i.package in LAYERS and i.target != i.module and not i.typing_only \
                and (i.module, i.target) not in ALLOWED_CYCLE_EDGES:
            graph.setdefault(i.module, set()).add(i.target)
    found = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for target in sorted(graph.get(node, ())):
                if target == start:
                    found.append(" → ".join([*path, start]))
                    stack = []
                    break
                if target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
    return found


def test_pip_installs_exactly_the_three_libraries_and_the_application(wheel):
    """It installed seven generic names: audit, training and benchmarks too."""
    assert {name.split("/")[0] for name in wheel if not name.split("/")[0].endswith(".dist-info")} == set(INSTALLED)
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    inside = {".".join(p.parent.relative_to(ROOT).parts) for top in INSTALLED
              for p in (ROOT / top).rglob("__init__.py")}
    assert set(listed) == inside  # every package of the four, subpackages included, and nothing else
    assert {path.parent.name for path in ROOT.glob("*/__init__.py")} == set(LAYERS)




def test_a_layer_imports_only_the_layers_below_it():
    wrong = upward(all_imports())
    assert not wrong, "\n".join(wrong)


def test_no_import_of_the_project_is_hidden_inside_a_function():
    late = hidden(all_imports())
    assert not late, "\n".join(late)


def test_no_two_modules_import_each_other_even_through_others():
    found = cycles(all_imports())
    assert not found, "import cycles:\n" + "\n".join(found)


def test_the_hand_bptt_and_its_names_import_nothing_of_the_engine():
    allowed = {"__future__", "collections", "collections.abc", "dataclasses", "typing", "numpy", "lstm.names",
               "lstm.shapes"}
    wrong = [f"{i.where}: {i.module} imports {i.target}" for i in all_imports()
             if i.module in WITNESSES and i.target not in allowed]
    wrong += [f"{i.where}: lstm.names imports {i.target}" for i in all_imports()
              if i.module == "lstm.names" and i.target not in {"__future__", "dataclasses"}]
    assert not wrong, "\n".join(wrong)


def test_the_checks_catch_an_upward_import_a_late_one_and_a_cycle(tmp_path):
    probe = tmp_path / "lstm" / "probe.py"
    probe.parent.mkdir()
    probe.write_text("import numpy\n\nfrom lstm.derivation import hand\n\n\n"
                     "def f():\n    from viz import draw\n    return draw\n")
    found = imports_of("lstm.probe", probe, {**modules(), "lstm.probe": probe}, tmp_path)
    assert [(i.target, i.local) for i in found] == [("numpy", False), ("lstm.derivation.hand", False), ("viz", True)]
    assert upward(found) == ["lstm/probe.py:7: lstm.probe imports viz, but lstm (layer 2) may import only autograd"]
    assert hidden(found) == ["lstm/probe.py:7: lstm.probe imports viz inside a function"]
    back = Import("lstm.derivation.hand", "lstm.probe", "lstm/derivation/hand.py:1", False)
    assert cycles([*found, back]) == ["lstm.derivation.hand → lstm.probe → lstm.derivation.hand",
                                      "lstm.probe → lstm.derivation.hand → lstm.probe"]


def test_the_architecture_pages_table_of_layers_is_this_one():
    rows = re.findall(r"^\| (\d) \| `(\w+)/` \|", (ROOT / "docs" / "architecture.md").read_text(), re.M)
    assert {package: int(layer) for layer, package in rows} == LAYERS


def test_the_map_of_the_code_names_every_module_under_its_package():
    """A newcomer finds each module in docs/architecture.md's map, under its own package's heading."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    tree = text[text.index("\nautograd/  tensor.py"):text.index("\ntests/     fixtures/")]
    listed, package = set(), None
    for line in tree.splitlines():
        head = re.match(r"([\w/]+)/ ", line)
        package = head[1] if head else package
        listed |= {f"{package}/{name}" for name in re.findall(r"\b(\w+\.py)\b", line)}
    modules = {f.relative_to(ROOT).as_posix() for p in INSTALLED for f in (ROOT / p).rglob("*.py")
               if f.name not in ("__init__.py", "__main__.py")}
    assert sorted(modules - listed) == []


def command_line_options() -> set[str]:
    """Every option of every lstm-autograd command."""
    parser = build_parser()
    commands = [parser, *(sub for action in parser._actions if isinstance(action, argparse._SubParsersAction)
                          for sub in action.choices.values())]
    return {option for command in commands for action in command._actions for option in action.option_strings}


def options_mentioned(path: Path, options: set[str]) -> list[str]:
    """The command-line options a module's strings, docstrings and comments name, each with its line."""
    with path.open("rb") as file:
        tokens = [t for t in tokenize.tokenize(file.readline) if t.type in (tokenize.STRING, tokenize.COMMENT)]
    return [f"{path.relative_to(ROOT)}:{t.start[0]}: {found}" for t in tokens
            for found in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)\b", t.string) if found in options]


def test_no_module_below_the_command_line_mentions_a_command_line_option():
    """A library names its Python arguments; the command line words its messages in options (cli.OPTION_OF)."""
    options = command_line_options()
    found = [line for package in ("autograd", "lstm", "viz") for path in sorted((ROOT / package).rglob("*.py"))
             for line in options_mentioned(path, options)]
    assert not found, "\n".join(found)


# the modules that draw and explore any engine graph; viz/lstm_*.py and viz/__init__.py speak for the LSTM
GENERIC = [*(ROOT / "viz" / name for name in ("graph.py", "render.py", "labels.py", "svg.py", "mathml.py")),
           *sorted(path for path in (ROOT / "viz" / "explorer").iterdir() if path.suffix in (".py", ".js", ".html"))]
LSTM_WORDS = r"\b(LSTM|gates?|h_T|hs|c_t)\b"


def test_the_generic_pictures_and_explorer_say_nothing_of_lstms():
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for path in GENERIC
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if re.search(LSTM_WORDS, line)]
    assert not found, "\n".join(found)
