"""A griffe extension for the API reference (mkdocs.yml): lrkit's docstrings are written for ``help()``
and doctest (reST-flavoured text); this turns them into the Markdown that mkdocstrings renders.

- a doctest example (``>>>`` lines and their output, up to a blank line) becomes a ``pycon`` code block
  (Markdown would read ``>>>`` as a nested quote);
- a reST role (``:func:`name```, ``:class:`~lrkit.Plateau```) becomes inline code;
- a reST literal block (a line ending in ``::`` before an indented block) ends in ``:``;
- a schedule family (a class whose fields are declared ``steps: float = arg(...)``) gets the signature
  Python reports for it (``cosine(steps, start=1.0, end=0.0)``) in place of its field declarations.

The source is not changed: doctest still runs the docstrings as written.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

from griffe import Class, Extension, Function, Object, Parameter, ParameterKind, Parameters

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):`~?([^`]+)`")


def doctests_to_fences(text: str) -> str:
    """Wrap each run of doctest lines (``>>>``, ``...`` and the output after them) in a ``pycon`` fence."""
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.lstrip().startswith(">>>"):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


def readable(text: str) -> str:
    """The Markdown form of one docstring."""
    text = ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    text = re.sub(r"(\S)::\n", r"\1:\n", text)
    return doctests_to_fences(text)


KINDS = {
    "POSITIONAL_ONLY": ParameterKind.positional_only,
    "POSITIONAL_OR_KEYWORD": ParameterKind.positional_or_keyword,
    "VAR_POSITIONAL": ParameterKind.var_positional,
    "KEYWORD_ONLY": ParameterKind.keyword_only,
    "VAR_KEYWORD": ParameterKind.var_keyword,
}


def family_signature(cls: Class) -> None:
    """Give a schedule family the constructor signature Python reports, annotated from its fields."""
    fields = {name: m for name, m in cls.members.items() if m.is_attribute and str(m.value).startswith("arg(")}
    if not fields:
        return
    runtime = getattr(importlib.import_module(cls.module.path), cls.name)
    params = [Parameter("self", kind=ParameterKind.positional_or_keyword)]
    for p in inspect.signature(runtime).parameters.values():
        field = fields.get(p.name)
        params.append(Parameter(p.name, annotation=field.annotation if field else None, kind=KINDS[p.kind.name],
                                default=None if p.default is p.empty else repr(p.default)))
    cls.set_member("__init__", Function("__init__", parameters=Parameters(*params), lineno=cls.lineno, parent=cls))
    for name in fields:
        cls.del_member(name)


class ReadableDocstrings(Extension):
    """Rewrite every docstring that griffe loads, and give each schedule family its signature."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = readable(obj.docstring.value)

    def on_class_members(self, *, cls: Class, **kwargs: Any) -> None:
        family_signature(cls)
