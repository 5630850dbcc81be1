"""The docs' complete train(run) example runs as written, through the CLI, with a plateau run."""

from __future__ import annotations

import os
import re

import pytest
from lab_helpers import lrkit, results

pytestmark = pytest.mark.slow  # subprocesses, training, several processes or a compiler

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "lab.md")


def test_the_documented_train_function_runs(tmp_path):
    with open(DOCS, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    (code,) = [b for b in blocks if "def train(run)" in b]
    (tmp_path / "my_train.py").write_text(code)
    p = lrkit("compare", "--train", "my_train.py:train", "--lrs", "0.05,0.2", "--epochs", "2", "--seeds", "2",
              "--tune-seeds", "1", "--schedule", "cosine('100%')", "--plateau", "--set", "batch_size=128",
              "--out", "out", "--no-progress", cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    doc = results(tmp_path / "out")
    assert [r["status"] for r in doc["runs"]] == ["compared", "compared"]
    assert all(0.5 < t < 1 for r in doc["runs"] for t in r["test"])
    md = (tmp_path / "out" / "report.md").read_text()
    assert "every schedule had the same `init` fingerprint" in md
    assert "every schedule had the same `batches` fingerprint" in md
