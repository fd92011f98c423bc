"""The package's import graph: every module imports on its own, no module imports another that
(directly or not) imports it back, the layers only import downwards, and ``import lagomjax`` stays
light. Imports inside functions count as edges too."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lagomjax"

# the functional core never reaches up into training, experiments or plotting
CORE = ("metric", "transform", "networks", "es", "envs", "losses", "replay", "checkpoint", "utils", "_checks")
UPPER = ("lagomjax.train", "lagomjax.algos", "lagomjax.experiment", "lagomjax.vis")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules) -> set[str]:
    """The lagomjax modules ``name`` imports, anywhere in the file (``from pkg import sub`` names
    the submodule ``pkg.sub`` when there is one)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            for a in node.names:
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def _graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_import_graph_has_no_cycle():
    graph = _graph()
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt) :] + [nxt]))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert len(graph) > 40  # the walk saw the whole package


def test_layers_import_downwards_only():
    graph = _graph()
    for name, deps in graph.items():
        short = name.split(".")[1] if "." in name else ""
        if short in CORE:
            assert not {d for d in deps if d.startswith(UPPER)}, (name, deps)
        if name.startswith("lagomjax.train") and name != "lagomjax.train.__main__":
            assert not {d for d in deps if d.startswith("lagomjax.algos")}, (name, deps)


def test_every_module_imports_on_its_own_and_the_package_is_light():
    names = sorted(m for m in _modules() if not m.endswith("__main__"))
    script = textwrap.dedent(
        f"""
        import importlib, sys
        import lagomjax
        heavy = ("cma", "matplotlib", "scipy.signal", "lagomjax.algos", "lagomjax.train")
        heavy = [m for m in heavy if m in sys.modules]
        assert not heavy, heavy
        for name in {names!r}:
            for m in [m for m in sys.modules if m == "lagomjax" or m.startswith("lagomjax.")]:
                del sys.modules[m]
            importlib.import_module(name)
        print("OK", len({names!r}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr
