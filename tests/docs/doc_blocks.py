"""Read the code blocks of a Markdown page and run them as a reader would (docs/contributing.md).

A page is a list of :class:`Block` in page order: fenced blocks (```` ```lang ````) and the hidden
directives ``<!-- test: NAME ARGS -->`` (``setup`` and ``check`` carry Python code on the lines after
their name, up to ``-->``). Each directive other than setup/check applies to the next fenced block.
"""

from __future__ import annotations

import ast
import doctest
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

RUN = {"python"}                       # run in the page's namespace
SHELL = {"sh", "console", "bash"}      # each command runs with bash
OUTPUT = "output"                      # what the block before it printed
SHOWN = {"text", "yaml", "toml", "json", "markdown", "pycon", "ini"}  # shown, never run
DIRECTIVES = {"setup", "check", "skip", "file", "exit", "faster"}


@dataclass
class Block:
    lang: str                  # a fence's language, or "setup" / "check" for hidden code
    text: str
    line: int                  # 1-based line of the first line of `text` in the page
    skip: str | None = None    # the reason it is not run
    file: str | None = None    # written to this file in the page's folder instead of run
    exit: int = 0              # the status each of its commands must exit with
    faster: str | None = None  # arguments added to each `lrkit` command
    output: Block | None = field(default=None, repr=False)  # the output block that follows it


class PageError(ValueError):
    """A page that breaks the conventions of docs/contributing.md."""


def parse(path: Path) -> list[Block]:  # noqa: C901 - one pass over the lines: fences and directives
    """The blocks of the page at ``path``, each with its directives and its output block."""
    lines = path.read_text().split("\n")
    blocks: list[Block] = []
    pending: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(\s*)(`{3,})(.*)$", line)
        comment = re.match(r"^<!-- test: (\w+)(.*)$", line)
        if fence:
            indent, ticks, info = fence.groups()
            lang = info.split()[0] if info.strip() else ""
            end = i + 1
            while end < len(lines) and not lines[end].startswith(indent + ticks):
                end += 1
            if end == len(lines):
                raise PageError(f"{path}:{i + 1}: a fence that is never closed")
            if not lang:
                raise PageError(f"{path}:{i + 1}: a fence must name its language (python, sh, output, text, ...)")
            text = "\n".join(s[len(indent):] for s in lines[i + 1:end]) + "\n"
            block = Block(lang, text, i + 2, **_block_options(path, i, pending))
            pending = {}
            if lang == OUTPUT:
                if not blocks or blocks[-1].lang not in RUN | SHELL or blocks[-1].output is not None:
                    raise PageError(f"{path}:{i + 1}: an output block must follow a python or shell block")
                blocks[-1].output = block
            else:
                if lang not in RUN | SHELL | SHOWN:
                    raise PageError(f"{path}:{i + 1}: unknown block language {lang!r}")
                blocks.append(block)
            i = end + 1
        elif comment:
            name, rest = comment.group(1), comment.group(2)
            if name not in DIRECTIVES:
                raise PageError(f"{path}:{i + 1}: unknown directive {name!r} (one of {sorted(DIRECTIVES)})")
            if name in ("setup", "check"):
                end = i + 1
                while end < len(lines) and lines[end].strip() != "-->":
                    end += 1
                if rest.strip() or end == len(lines):
                    raise PageError(f"{path}:{i + 1}: `<!-- test: {name}` takes code on the next lines, up to `-->`")
                blocks.append(Block(name, "\n".join(lines[i + 1:end]) + "\n", i + 2))
                i = end + 1
                continue
            if not rest.rstrip().endswith("-->"):
                raise PageError(f"{path}:{i + 1}: `<!-- test: {name} ... -->` must fit on one line")
            pending[name] = rest.rstrip()[:-3].strip()
            i += 1
        else:
            i += 1
    if pending:
        raise PageError(f"{path}: directives {sorted(pending)} at the end apply to no block")
    return blocks


def _block_options(path: Path, i: int, pending: dict[str, str]) -> dict:
    options: dict = {}
    if "skip" in pending:
        if len(pending["skip"].split()) < 3:
            raise PageError(f"{path}:{i + 1}: `skip` needs a reason, in words")
        options["skip"] = pending["skip"]
    if "file" in pending:
        options["file"] = pending["file"]
    if "exit" in pending:
        options["exit"] = int(pending["exit"])
    if "faster" in pending:
        options["faster"] = pending["faster"]
    return options


def commands(text: str) -> list[str]:
    """The commands of a shell block: ``\\`` continues a line, ``#`` starts a comment, ``$ `` is dropped."""
    out, current = [], ""
    for raw in text.split("\n"):
        line = raw.removeprefix("$ ")
        current += line[:-1] + " " if line.endswith("\\") else line
        if line.endswith("\\"):
            continue
        command = _strip_comment(current).strip()
        if command:
            out.append(command)
        current = ""
    return out


def _strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` inside quotes stays)."""
    quote = None
    for k, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k]
    return line


def visible_text(path: Path) -> str:
    """The page as a reader sees it: without the hidden ``<!-- ... -->`` comments."""
    return re.sub(r"<!--.*?-->", "", path.read_text(), flags=re.S)


def is_doctest(text: str) -> bool:
    """A python block written as a session (``>>>`` prompts, output under them)."""
    return text.lstrip().startswith(">>>")


def source(text: str) -> str:
    """The Python code of a block, without the prompts and output of a session."""
    if is_doctest(text):
        return "".join(example.source for example in doctest.DocTestParser().get_examples(text))
    return text


FAST_IMPORTS = {"numpy", "lrkit", "lrkit.finder", "lrkit.errors", "lrkit.checks"}


def is_slow(blocks: list[Block]) -> bool:
    """Whether running the page trains a model, runs a subprocess or imports a framework."""
    for b in blocks:
        if b.skip or b.file:
            continue
        if b.lang in SHELL:
            return True
        if b.lang in RUN | {"setup", "check"}:
            code = source(b.text)
            for node in ast.walk(ast.parse(code)):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for name in names:
                    if name not in FAST_IMPORTS and name.split(".")[0] not in sys.stdlib_module_names:
                        return True
    return False
