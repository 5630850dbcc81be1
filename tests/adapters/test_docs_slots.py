"""The "where lrkit plugs in" table of docs/torch.md and docs/keras-jax.md: the same table in both pages,
and every line of code in it appears verbatim in the test that runs it (so the docs cannot drift)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
SLOTS = {"plain torch loop", "Lightning", "HF Trainer", "timm", "Keras fit", "Keras mixed precision",
         "optax / jax.jit"}


def table(page: str) -> list[list[str]]:
    """The rows (cells) of the table under the heading 'Where lrkit plugs in'."""
    text = (ROOT / "docs" / page).read_text()
    section = text.split("## Where lrkit plugs in", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # header and rule
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_both_pages_hold_the_same_table_of_every_slot():
    rows = table("torch.md")
    assert rows == table("keras-jax.md")
    assert {row[0] for row in rows} == SLOTS


def test_every_line_of_the_table_is_in_the_test_that_runs_it():
    for slot, _where, lines, test in table("torch.md"):
        path, name = re.fullmatch(r"`(tests/adapters/\w+\.py)::(\w+)`", test).groups()
        source = (ROOT / path).read_text()
        functions = {f.name for f in ast.walk(ast.parse(source)) if isinstance(f, ast.FunctionDef)}
        assert name in functions, (slot, name)
        snippets = re.findall(r"`([^`]+)`", lines)
        assert snippets, slot
        for code in snippets:
            assert code in source, (slot, code)
