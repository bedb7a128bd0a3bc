"""A griffe extension for the API reference: the docstrings' reST idioms, as Markdown.

dpa's docstrings are written for ``help()`` and doctest, with a few reST idioms;
mkdocstrings renders Markdown. When the package is loaded, this rewrites each
docstring (the source files are not touched):

- a Sphinx role (``:func:`generate_batch```) becomes an optional cross-reference: a
  link where the target is documented, plain code otherwise (never a warning);
- a paragraph ending in ``::`` and the indented block after it become a fenced code
  block (a lone ``Example::`` becomes a bold label);
- a definition list (a term, then its definition indented by four more spaces)
  becomes a Markdown one (the ``def_list`` extension);
- an ``Example:`` section is read as Google style's ``Examples:`` (doctest blocks);
- an attribute without a docstring gets the ``#:`` comment lines above it, if any.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")
_EXAMPLE = re.compile(r"^([ \t]*)Example:[ \t]*$", re.MULTILINE)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def literal_blocks(text: str) -> str:
    """reST literal blocks (a paragraph ending in ``::``, then an indented block) as
    fenced Markdown code blocks; a lone ``Example::`` becomes a bold label."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.rstrip()
        if not stripped.endswith("::"):
            out.append(line)
            i += 1
            continue
        pad = " " * _indent(line)
        head = stripped[:-2].rstrip()
        if not head.strip():
            pass  # a bare "::" line introduces the block and disappears
        elif head.strip().isalpha():
            out.append(f"{pad}**{head.strip()}:**")
        else:
            out.append(f"{head}:")
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        block: list[str] = []
        while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > len(pad)):
            block.append(lines[j])
            j += 1
        while block and not block[-1].strip():
            block.pop()
        if not block:
            i += 1
            continue
        cut = min(_indent(b) for b in block if b.strip())
        if block[0].strip().startswith(">>>"):
            language = "pycon"
        elif any("(" in b or " = " in b for b in block):
            language = "python"
        else:
            language = "text"  # a folder listing, say
        out.append("")
        out.append(f"{pad}```{language}")
        out.extend(pad + b[cut:] if b.strip() else "" for b in block)
        out.append(f"{pad}```")
        out.append("")
        i = j
    return "\n".join(out)


def _target(obj: griffe.Object, name: str) -> str:
    """The full path ``name`` refers to, seen from ``obj``'s docstring."""
    if name.startswith("dpa."):
        return name
    scope: griffe.Object | None = obj
    while scope is not None:
        try:
            return scope.resolve(name)
        except (griffe.NameResolutionError, AttributeError, KeyError, ValueError):
            pass
        head, _, rest = name.partition(".")
        if rest and head in scope.members:
            member = scope.members[head]
            return f"{member.path}.{rest}"
        scope = scope.parent
    return f"dpa.{name}"


_LIST_ITEM = re.compile(r"^\s*([*+-]|\d+\.)\s")


def definition_lists(text: str) -> str:
    """reST definition lists (a term line, then its definition indented by four more
    spaces) as Markdown ones (the term, then ``:   definition``)."""
    lines = text.split("\n")
    out: list[str] = []
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        after = lines[i + 1] if i + 1 < len(lines) else ""
        if line.lstrip().startswith("```"):
            fenced = not fenced
        is_term = (
            not fenced
            and bool(line.strip())
            and bool(after.strip())
            and _indent(after) == _indent(line) + 4
            and not line.rstrip().endswith(":")
            and not _LIST_ITEM.match(line)
        )
        if not is_term:
            out.append(line)
            i += 1
            continue
        if out and out[-1].strip():
            out.append("")  # a term starts a block of its own
        out.append(line)
        out.append(" " * _indent(line) + ":   " + after.lstrip())
        i += 2
    return "\n".join(out)


def rewrite(obj: griffe.Object, text: str) -> str:
    """``text`` (the docstring of ``obj``) in Markdown, as the module docstring says."""

    def role(match: re.Match[str]) -> str:
        short, name = match.group(1), match.group(2)
        shown = name.rsplit(".", 1)[-1] if short else name
        identifier = _target(obj, name)
        return f'<autoref identifier="{identifier}" optional><code>{shown}</code></autoref>'

    text = _EXAMPLE.sub(r"\1Examples:", text)  # griffe's Google parser knows "Examples"
    text = literal_blocks(text)
    text = definition_lists(text)
    return _ROLE.sub(role, text)


def _comment_docstring(obj: griffe.Object) -> str:
    """The ``#:`` comment lines right above an attribute (Sphinx's convention)."""
    if obj.lineno is None or obj.filepath is None or isinstance(obj.filepath, list):
        return ""
    try:
        lines = obj.lines_collection[obj.filepath]
    except KeyError:
        return ""
    found: list[str] = []
    number = obj.lineno - 2  # the line above, 0-based
    while number >= 0 and lines[number].lstrip().startswith("#:"):
        found.append(lines[number].lstrip()[2:].strip())
        number -= 1
    return "\n".join(reversed(found))


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring of a loaded package (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._walk(pkg, set())

    def _walk(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is None and obj.is_attribute:
            comment = _comment_docstring(obj)
            if comment:
                obj.docstring = griffe.Docstring(comment, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj, obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member, seen)  # type: ignore[arg-type]
