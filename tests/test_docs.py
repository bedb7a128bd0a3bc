"""The documentation's examples run, and say what they print.

Every page under ``docs/`` is run top to bottom in a temporary folder, its blocks
sharing one namespace (and one folder), like a notebook:

- ```` ```python ```` blocks are executed;
- ```` ```pycon ```` blocks are doctests: each ``>>>`` line's output must match what
  the page shows (``...`` matches anything);
- ```` ```console ```` blocks are shell sessions: each ``$ command`` runs in bash
  (with this interpreter's ``dpa`` first on ``PATH``; a plain ``dpa ...`` command
  runs in this process, through ``dpa._cli.main``) and its output, stdout and stderr
  together, must be the lines that follow it (``...`` matches anything);
  ``$ echo $?`` shows the previous command's exit status.

A block right after a ``<!-- docs-test: skip -->`` line is not run (a sketch with
names the reader supplies, or a command that needs torchrun). README.md's Python
blocks are sketches of the same kind: they are only compiled.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import dpa
from dpa._cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIP = "<!-- docs-test: skip -->"
_SHELL = re.compile(r"[|&;<>$`]")  # a command bash must run
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    language: str
    code: str
    line: int
    skip: bool


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file (at the start of a line), in order."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        line = text.count("\n", 0, match.start()) + 2  # the block's first line
        found.append(Block(match.group(1), match.group(2), line, before.strip() == SKIP))
    return found


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "_ext" not in p.parts)


def run_dpa(argv: list[str]) -> tuple[int, str]:
    """``dpa ARGV`` in this process (as the console script runs it, without the cost
    of starting Python): exit status, and stdout and stderr as one text."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        status = main(argv)
    return status, output.getvalue()


def run_console(code: str, where: str, cwd: Path) -> None:
    """Run each ``$ command`` of a console block; compare its output with the block's."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "80"
    status = 0
    commands: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"{where}: output before the first command: {line!r}")
    for command, expected in commands:
        words = shlex.split(command)
        if words[0] == "dpa" and not _SHELL.search(command):
            status, output = run_dpa(words[1:])
        else:
            result = subprocess.run(
                ["bash", "-c", f"(exit {status}); {command}"],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=300,
            )
            status, output = result.returncode, result.stdout
        got = output.rstrip("\n") + "\n"
        want = "\n".join(expected).rstrip("\n") + "\n"
        checker = doctest.OutputChecker()
        assert checker.check_output(want, got, doctest.ELLIPSIS), (
            f"{where}: $ {command}\n--- expected\n{want}--- got\n{got}"
        )


def run_page(page: Path, cwd: Path) -> None:
    namespace: dict[str, object] = {"__name__": "__main__"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for block in blocks(page):
        where = f"{page.relative_to(ROOT)}:{block.line}"
        if block.skip:
            continue
        if block.language == "python":
            exec(compile(block.code, where, "exec"), namespace)
        elif block.language == "pycon":
            test = parser.get_doctest(block.code, namespace, where, str(page), block.line - 1)
            result = runner.run(test, clear_globs=False)
            namespace.update(test.globs)  # the doctest ran on a copy
            assert result.failed == 0, f"{where}: doctest failed (the report is above)"
        elif block.language == "console":
            run_console(block.code, where, cwd)


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_page(page, tmp_path)


def test_readme_examples_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python runs, and its CLI commands (the `dpa ...` lines of its bash
    blocks) work as written once the venv's bin folder is on PATH, as after
    `source .venv/bin/activate`."""
    monkeypatch.chdir(tmp_path)
    readme = ROOT / "README.md"
    python = [b for b in blocks(readme) if b.language == "python"]
    assert python
    for block in python:
        exec(compile(block.code, f"README.md:{block.line}", "exec"), {"__name__": "readme"})
    commands = [
        line.split("  #")[0].strip()
        for block in blocks(readme)
        if block.language == "bash"
        for line in block.code.splitlines()
        if line.startswith("dpa ")
    ]
    assert len(commands) >= 3
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        done = subprocess.run(
            command, shell=True, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, (command, done.stderr)


PUBLIC = sorted(set(dpa.__all__) - {"__version__"})


def test_api_overview_names_every_export() -> None:
    """docs/api/index.md links every name ``import dpa`` exports, and no other."""
    overview = (DOCS / "api" / "index.md").read_text(encoding="utf-8")
    linked = re.findall(r"\]\[dpa\.(\w+)\]", overview)
    assert sorted(set(linked)) == PUBLIC
    assert len(linked) == len(set(linked))


def test_api_pages_document_each_export_once() -> None:
    """The API pages hold one ``::: dpa.NAME`` block for each name of ``dpa.__all__``
    (the public surface, never a private module's path)."""
    pages = sorted((DOCS / "api").glob("*.md"))
    blocks = [m for page in pages for m in re.findall(r"^::: (\S+)", page.read_text(), re.M)]
    subpackages = {"benchmark", "integrations", "v02"}  # public, documented whole
    top = [b.removeprefix("dpa.") for b in blocks if re.fullmatch(r"dpa\.\w+", b)]
    top = [name for name in top if name not in subpackages]
    assert sorted(top) == PUBLIC
    assert not [b for b in blocks if "._" in b], "an API page points into a private module"


def test_readme_api_list_names_every_export() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## API at a glance", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(\w+)`", section))
    assert [name for name in PUBLIC if name not in named] == []
    assert [name for name in named if name.startswith("_")] == []


def test_readme_and_docs_links_point_to_pages() -> None:
    """Relative links to docs/ pages from README.md name files that exist."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert targets
    for target in targets:
        assert (ROOT / target).exists(), target
