"""The package surface and the shape of the house: what ``import dpa`` exports and
loads, the deprecated old module paths, and the rules the modules keep (each of one
job and under 600 lines, no import cycle)."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import dpa

HEAVY = (
    "torch",
    "tensorflow",
    "pyarrow",
    "PIL",
    "click",
    "tqdm",
    "psutil",
    "scipy",
    "matplotlib",
)
PACKAGE = Path(dpa.__file__).parent
#: The modules users import besides ``dpa`` itself.
PUBLIC_SUBPACKAGES = {"dpa.integrations", "dpa.benchmark", "dpa.v02"}
#: Old module paths that forward to the private modules for one release.
DEPRECATED = (
    "backends",
    "batch",
    "cli",
    "config",
    "core",
    "distributed",
    "formats",
    "generate",
    "io",
    "keys",
    "preview",
    "quality",
    "shards",
    "stats",
    "verify",
)
MAX_LINES = 600


def test_import_does_not_pull_in_optional_frameworks() -> None:
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import dpa\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "dpa" in loaded  # the check sees what the import brought in
    for name in HEAVY:
        assert not [m for m in loaded if m == name or m.startswith(name + ".")], name
    # Lazy: not even dpa's own modules, until a name is used.
    assert [m for m in loaded if m.startswith("dpa.")] == []


def test_a_name_loads_only_its_layer() -> None:
    code = (
        "import json, sys\n"
        "import dpa\n"
        "dpa.generate_batch(range(3))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    for name in HEAVY:
        assert not [m for m in loaded if m == name or m.startswith(name + ".")], name
    assert not {"dpa._io", "dpa._batch", "dpa._quality", "dpa._shards"} & loaded


def test_every_lazy_name_resolves_to_an_object_of_that_name() -> None:
    for name in dpa.__all__:
        value = getattr(dpa, name)
        if isinstance(value, type) or callable(value):
            assert getattr(value, "__name__", name) == name, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        dpa.nope  # type: ignore[attr-defined]  # noqa: B018
    assert set(dpa.__all__) <= set(dir(dpa))


@pytest.mark.parametrize("old", DEPRECATED)
def test_old_module_paths_forward_with_a_deprecation_warning(old: str) -> None:
    module = importlib.import_module(f"dpa.{old}")
    private = importlib.import_module(f"dpa._{old}")
    names = [n for n in getattr(private, "__all__", []) if not n.startswith("_")]
    if not names:  # the CLI: its entry point
        names = ["main"]
    for name in names:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = getattr(module, name)
        assert value is getattr(private, name)
        assert [w.category for w in caught] == [DeprecationWarning], name
        assert f"dpa.{old}" in str(caught[0].message)


def _private_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_implementation_modules_are_private() -> None:
    public = []
    for path in _private_modules():
        name = _module_name(path)
        top = ".".join(name.split(".")[:2])
        if name == "dpa" or top in PUBLIC_SUBPACKAGES or name == "dpa.__main__":
            continue
        if name.removeprefix("dpa.") in DEPRECATED:
            continue  # a forwarding shim, checked above
        if not any(part.startswith("_") for part in name.split(".")[1:]):
            public.append(name)
    assert public == []


def test_no_module_is_over_600_lines() -> None:
    long = {
        _module_name(p): n
        for p in _private_modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The dpa modules ``path`` imports, at the top or inside functions."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("dpa")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("dpa"):
                continue
            for alias in node.names:  # `from . import _core` imports a module
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in modules else target)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the dpa modules it imports (only edges to real modules)."""
    modules = {_module_name(p): p for p in _private_modules()}
    return {
        name: {m for m in _imports(path, set(modules)) if m in modules and m != name}
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_counting_imports_inside_functions() -> None:
    graph = import_graph()
    # The package's own __init__ imports lazily (by name, at attribute access) and
    # under TYPE_CHECKING; no module may import the package itself.
    graph["dpa"] = set()
    assert not [m for m, deps in graph.items() if "dpa" in deps]
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_all_names_exist() -> None:
    assert len(dpa.__all__) == len(set(dpa.__all__))
    missing = [name for name in dpa.__all__ if not hasattr(dpa, name)]
    assert missing == []


def test_public_api_is_exported() -> None:
    for name in (
        "AugmentationConfig",
        "ParamBatch",
        "gen_augmentation_params",
        "gen_augmentation_seed",
        "generate_batch",
        "stream_augmentation_chain",
        "stream_augmentation_range",
        "generate_augmentation_chain",
        "compute_statistics",
        "compute_streaming_statistics",
        "get_preset",
        "fib",
    ):
        assert name in dpa.__all__, name


def test_version_is_a_string() -> None:
    assert isinstance(dpa.__version__, str) and dpa.__version__


@pytest.mark.slow
def test_a_build_without_a_compiler_ships_no_stale_kernel(tmp_path: Path) -> None:
    """Build a wheel with a compiler, then again with a failing one in the same tree:
    the second wheel has no kernel (not the first build's), and says nothing wrong."""
    import shutil
    import zipfile

    root = Path(__file__).parents[1]
    tree = tmp_path / "tree"
    shutil.copytree(
        root / "src", tree / "src", ignore=shutil.ignore_patterns("*.so", "__pycache__")
    )
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(root / name, tree / name)

    def wheel(compiler: str, out: Path) -> list[str]:
        env = {**os.environ, "CC": compiler}
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
             "-w", str(out), str(tree)],
            check=True, env=env, timeout=600, capture_output=True,
        )  # fmt: skip
        (built,) = out.glob("*.whl")
        return zipfile.ZipFile(built).namelist()

    first = wheel(shutil.which("cc") or "cc", tmp_path / "a")
    if not [n for n in first if "_dpa_kernel" in n and n.endswith(".so")]:
        pytest.skip("no C compiler here to build the kernel with")
    second = wheel("/bin/false", tmp_path / "b")
    assert [n for n in second if n.endswith((".so", ".pyd"))] == []
    assert "dpa/_kernel/dpa_kernel.c" in second
