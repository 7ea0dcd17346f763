"""The package layout keeps its rules: layers point down, no cycles, no private names read across modules.

Read from the source with :mod:`ast`, nothing imported: every ``import`` and ``from … import``
of a kit module counts, at module level and inside functions, and so does
``importlib.import_module("kit.…")`` with a literal name. ``python tests/test_layout.py`` prints
the counts (modules at the top level, cycles, imports that point up, private names read across).
"""

from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "kit"

# Lowest first. A module belongs to the longest prefix that names it. The kernels' pure compute
# modules sit beside the registry that declares them; their dispatch (kit.kernels._api) is a feature.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("leaves", ("kit.errors", "kit._version", "kit.config", "kit._paths", "kit._lazy", "kit.machine", "kit.stats",
                "kit.payloads", "kit._display")),
    ("registry", ("kit.registry", "kit.kernels._numpy", "kit.kernels._numba", "kit.kernels._cuda",
                  "kit.kernels._cupy", "kit.kernels._xxh", "kit.kernels._inputs",
                  "kit.kernels._surface")),
    ("engine", ("kit.engine", "kit.json")),
    ("features", ("kit.compression", "kit.kernels", "kit.cache", "kit.workloads", "kit.batch", "kit.profile")),
    ("scoring/records", ("kit.scoring", "kit.records", "kit.fleet")),
    ("faces", ("kit.report", "kit.notebook", "kit.cli", "kit.targets", "kit")),
]
MAX_TOP_LEVEL = 15
MAX_UPWARD = 3


def modules(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for p in sorted(root.rglob("*.py")):
        if "__pycache__" in p.parts:
            continue
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p
    return out


@functools.lru_cache(maxsize=None)
def _tree(path: Path, mtime: float) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def parse(path: Path) -> ast.Module:
    return _tree(path, path.stat().st_mtime)


def _package(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imports(mods: dict[str, Path]) -> list[tuple[str, str, int, str]]:
    """``(importer, imported, line, how)`` for every kit→kit import; ``how`` is 'module' or 'function'."""
    edges = []
    for name, path in mods.items():
        tree = parse(path)
        pkg = _package(name, path)

        def visit(node: ast.AST, in_func: bool) -> None:
            for child in ast.iter_child_nodes(node):
                f = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                how = "function" if in_func else "module"
                targets: list[str] = []
                if isinstance(child, ast.ImportFrom):
                    if child.level:
                        base = pkg.split(".")[: len(pkg.split(".")) - (child.level - 1)]
                        mod = ".".join(base + ([child.module] if child.module else []))
                    else:
                        mod = child.module or ""
                    if mod == "kit" or mod.startswith("kit."):
                        subs = [f"{mod}.{a.name}" for a in child.names if f"{mod}.{a.name}" in mods]
                        # `from kit import registry` imports the submodule, not the lazy face
                        if len(subs) < len(child.names) or mod != "kit":
                            targets.append(mod)
                        targets += subs
                elif isinstance(child, ast.Import):
                    targets += [a.name for a in child.names if a.name == "kit" or a.name.startswith("kit.")]
                elif (isinstance(child, ast.Call) and isinstance(child.func, (ast.Attribute, ast.Name))
                      and getattr(child.func, "attr", getattr(child.func, "id", "")) == "import_module"
                      and child.args and isinstance(child.args[0], ast.Constant)
                      and isinstance(child.args[0].value, str) and child.args[0].value.startswith("kit")):
                    targets.append(child.args[0].value)
                for t in targets:
                    if t != name:
                        edges.append((name, t, child.lineno, how))
                visit(child, f)

        visit(tree, False)
    return edges


def _is_ancestor(pkg: str, mod: str) -> bool:
    return mod.startswith(pkg + ".")


def cycles(mods: dict[str, Path], edges) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan).

    A module that imports from its own package's ``__init__`` counts: a package's face imports its
    parts, so a part that imports the face back closes a cycle.
    """
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for a, b, _, _ in edges:
        if b in graph:
            graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    # a few hundred modules deep at most; the limit is restored, since other tests depend on it
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(10_000, limit))
    try:
        for v in sorted(graph):
            if v not in index:
                strong(v)
    finally:
        sys.setrecursionlimit(limit)
    return out


def layer(mod: str) -> int:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    if rank is None:
        raise AssertionError(f"{mod} has no layer; add its package to LAYERS in tests/test_layout.py")
    return rank


def upward(mods, edges) -> list[tuple[str, str, int, str]]:
    return [e for e in edges if e[1] in mods and layer(e[1]) > layer(e[0])]


def private_reads(mods: dict[str, Path]) -> list[str]:
    """``from kit.x import _name`` or ``x._name`` on an imported kit module, outside that module.

    A private *module* (``kit.cache._tier``) may be imported by the modules of its own package.
    """
    found = []
    for name, path in mods.items():
        tree = parse(path)
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kit"):
                mod = node.module or ""
                for a in node.names:
                    full = f"{mod}.{a.name}"
                    if full in mods:
                        aliases[a.asname or a.name] = full
                        if a.name.startswith("_") and not _is_ancestor(mod, name) and mod != name:
                            found.append(f"{name}:{node.lineno} imports private module {full}")
                    elif a.name.startswith("_") and not a.name.startswith("__") and mod != name:
                        found.append(f"{name}:{node.lineno} imports {mod}.{a.name}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("kit") and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                target = aliases[node.value.id]
                if f"{target}.{node.attr}" in mods:
                    if not _is_ancestor(target, name):
                        found.append(f"{name}:{node.lineno} reads private module {target}.{node.attr}")
                elif target != name:
                    found.append(f"{name}:{node.lineno} reads {target}.{node.attr}")
    return found


def top_level(root: Path = ROOT) -> list[str]:
    return sorted(p.name for p in root.glob("*.py"))


def test_at_most_15_modules_at_the_top_level():
    assert len(top_level()) <= MAX_TOP_LEVEL, top_level()


def test_no_import_cycles_at_module_or_function_level():
    mods = modules()
    assert cycles(mods, imports(mods)) == []


def test_layers_point_down_but_for_at_most_three_imports():
    mods = modules()
    up = upward(mods, imports(mods))
    assert len(up) <= MAX_UPWARD, "\n".join(f"{a} -> {b} (line {n}, {how})" for a, b, n, how in up)


def test_no_module_reads_another_modules_private_names():
    assert private_reads(modules()) == []


def test_the_checker_sees_a_cycle_an_upward_import_and_a_private_read(tmp_path):
    pkg = tmp_path / "kit"
    (pkg / "engine").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("def f():\n    from kit.engine import run\n")
    (pkg / "engine" / "__init__.py").write_text("from kit.errors import f\nfrom kit.stats import _t\n")
    (pkg / "stats.py").write_text("_t = 1\n")
    mods = modules(pkg)
    edges = imports(mods)
    assert cycles(mods, edges) == [["kit.engine", "kit.errors"]]
    assert [(a, b, how) for a, b, _, how in upward(mods, edges)] == [("kit.errors", "kit.engine", "function")]
    assert private_reads(mods) == ["kit.engine:2 imports kit.stats._t"]


if __name__ == "__main__":
    root = Path(sys.argv[1]).resolve() / "kit" if len(sys.argv) > 1 else ROOT
    mods = modules(root)
    edges = imports(mods)
    kit_fn = sum(1 for e in edges if e[3] == "function")
    print(f"modules at kit/'s top level: {len(top_level(root))}")
    print(f"kit->kit imports: {len(edges)} ({kit_fn} inside functions)")
    cyc = cycles(mods, edges)
    print(f"import cycles: {len(cyc)}")
    for c in cyc:
        print("  " + " <-> ".join(c))
    try:
        up = upward(mods, edges)
        print(f"imports that point up: {len(up)}")
        for a, b, n, how in up:
            print(f"  {a}:{n} -> {b} ({how})")
    except AssertionError as exc:
        print(f"imports that point up: not counted ({exc})")
    pr = private_reads(mods)
    print(f"private names read across modules: {len(pr)}")
    for line in pr:
        print("  " + line)
