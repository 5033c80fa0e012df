"""The layout's promises, read from the source: which package may import which, and no circles.

``gpo`` knows nothing of the harness, and its policy-gradient core (``gpo.core``) nothing of the
paper's operators above it; in ``bench``, analysis stands over runs over artifacts, the CLI and
the benchmarks on top, and the Hilly tasks apart (README's Layout)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package prefix -> prefixes it must never import (lower layers never import higher ones)
FORBIDDEN = {
    "gpo": ("bench", "baselines", "figures"),
    "gpo.core": (
        "gpo.gpo",
        "gpo.mutation",
        "gpo.selection",
        "gpo.crossover",
        "gpo.selector",
        "gpo.dagger",
        "gpo.data_sharing",
        "gpo.population",
    ),
    "baselines": ("bench", "figures"),
    "figures": ("bench", "gpo", "baselines"),
    "bench.envs": ("bench.analysis", "bench.runs", "bench.artifacts", "bench.perf", "bench.cli", "gpo"),
    "bench.artifacts": ("bench.analysis", "bench.runs", "bench.perf", "bench.cli"),
    "bench.runs": ("bench.analysis", "bench.perf", "bench.cli"),
    "bench.analysis": ("bench.perf", "bench.cli"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] in ("__init__", "__main__"):
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function (``from a import b`` counts
    ``a.b`` when ``b`` is a module of the project)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            for alias in node.names:
                if (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").exists():
                    names.add(f"{node.module}.{alias.name}")
    return {n for n in names if n.split(".")[0] in ("gpo", "bench", "baselines", "figures")}


def sources() -> dict[str, set[str]]:
    found = {}
    for top in ("gpo", "bench", "baselines", "figures"):
        for path in sorted((ROOT / top).rglob("*.py")):
            found[module_name(path)] = imports(path)
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_no_import_runs_from_a_lower_layer_to_a_higher_one():
    wrong = []
    for module, imported in sources().items():
        # the most specific rule applies: gpo.core's, not only gpo's
        rules = [p for p in FORBIDDEN if within(module, p)]
        for prefix in rules:
            wrong += [
                f"{module} imports {name}"
                for name in imported
                if any(within(name, f) for f in FORBIDDEN[prefix])
            ]
    assert not wrong, "\n".join(sorted(wrong))


def test_the_project_has_no_import_cycle():
    graph = {
        m: {i for i in imported if i in sources_cache and i != m} for m, imported in sources_cache.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # a package's __init__ importing its own submodules is not a circle
            if within(nxt, node) or within(node, nxt):
                continue
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*stack[stack.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_checks_see_a_wrong_way_import(tmp_path):
    """The parser finds imports inside functions too (a lazy import is still a dependency)."""
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from bench.analysis import stats\n    import gpo.core.nn\n")
    assert {"bench.analysis", "bench.analysis.stats", "gpo.core.nn"} <= imports(source)


sources_cache = sources()


def family_name_switches(path: Path) -> list[int]:
    """Lines where ``path`` compares a run's family (``x.family``, ``x.family.name`` or a name
    ``family``) with a string: a switch on the family's name."""

    def names_family(node: ast.AST) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "name":
            node = node.value
        return (isinstance(node, ast.Attribute) and node.attr == "family") or (
            isinstance(node, ast.Name) and node.id == "family"
        )

    def literal(node: ast.AST) -> bool:
        items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
        return any(isinstance(i, ast.Constant) and isinstance(i.value, str) for i in items)

    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(map(names_family, sides)) and any(map(literal, sides)):
                lines.append(node.lineno)
    return lines


def test_only_the_family_registry_knows_family_names():
    """A run family is one object (``bench.runs.families``); nothing else switches on its name."""
    registry = ROOT / "bench" / "runs" / "families"
    wrong = [
        f"{path.relative_to(ROOT)}:{line}"
        for top in ("gpo", "bench", "baselines", "figures")
        for path in sorted((ROOT / top).rglob("*.py"))
        if registry not in path.parents
        for line in family_name_switches(path)
    ]
    assert not wrong, "switches on a family's name outside bench/runs/families: " + ", ".join(wrong)


def test_the_family_check_sees_a_switch(tmp_path):
    source = tmp_path / "x.py"
    source.write_text('if spec.family == "gpo":\n    pass\nok = spec.family.name in ("single", "gpo")\n')
    assert family_name_switches(source) == [1, 3]
