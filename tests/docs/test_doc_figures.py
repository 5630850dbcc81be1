"""docs/figures.py draws every figure it names (the doc pages show the committed PNGs it wrote)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FIGURES = Path(__file__).parents[2] / "docs" / "figures.py"


@pytest.mark.parametrize("name", ["families", "recipes"])
def test_docs_figures_draw(name, tmp_path):
    spec = importlib.util.spec_from_file_location("docs_figures", FIGURES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = getattr(module, name)(str(tmp_path / f"{name}.png"))
    assert Path(out).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (FIGURES.parent / "img" / f"{name}.png").exists()
