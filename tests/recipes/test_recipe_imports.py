"""``import lrkit.recipes`` imports no framework; every public name resolves."""

from __future__ import annotations

import subprocess
import sys

import lrkit.recipes as recipes


def test_import_pulls_in_no_framework():
    code = ("import sys, lrkit.recipes, lrkit.experiments\n"
            "print(sorted(m for m in ('torch', 'jax', 'keras', 'tensorflow', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_all_is_sorted_and_resolves():
    assert recipes.__all__ == sorted(recipes.__all__)
    for name in recipes.__all__:
        assert getattr(recipes, name) is not None
    assert set(recipes.__all__) <= set(dir(recipes))
