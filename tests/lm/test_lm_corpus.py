"""``pycode``'s text: the split by file is deterministic and disjoint, a run's windows never repeat."""

from __future__ import annotations

import hashlib
import os
import platform
import sysconfig

import numpy as np
import pytest

import lrkit as lk
from lrkit.lab.corpus import (
    OTHER,
    VOCAB,
    Stream,
    encode,
    eval_windows,
    load_corpus,
    source_files,
    split_of,
    unigram_bits,
)

STDLIB = sysconfig.get_paths()["stdlib"]


def expected_split(path: str) -> str:
    """The documented rule, computed independently: sha256 of the path, first 32 bits, mod 100."""
    h = int.from_bytes(hashlib.sha256(path.encode()).digest()[:4], "big") % 100
    return "train" if h < 80 else ("val" if h < 90 else "test")


def test_the_split_follows_the_documented_hash_for_every_stdlib_file():
    files = source_files(STDLIB)
    assert len(files) > 500 and "json/decoder.py" in files and "os.py" in files
    assert not any(p.startswith(("site-packages/", "dist-packages/")) or "__pycache__" in p for p in files)
    assert all("\\" not in p and not p.startswith("/") for p in files)
    splits = {p: split_of(p) for p in files}
    assert splits == {p: expected_split(p) for p in files}
    counts = {s: sum(v == s for v in splits.values()) for s in ("train", "val", "test")}
    assert 0.75 < counts["train"] / len(files) < 0.85 and min(counts.values()) > 50


def test_the_corpus_is_deterministic_and_its_splits_are_disjoint_by_file():
    c = load_corpus()
    load_corpus.cache_clear()
    again = load_corpus()
    for s in ("train", "val", "test"):
        assert np.array_equal(c.split(s), again.split(s))
    assert c.python == platform.python_version() and c.root == STDLIB
    files = source_files(STDLIB)
    assert sum(c.files.values()) == len(files)
    # each split is its files' text, each preceded by a NUL: rebuild the val split file by file
    val = [p for p in files if split_of(p) == "val"]
    parts = []
    for p in val:
        with open(os.path.join(STDLIB, p), "rb") as f:
            parts += [np.zeros(1, np.uint8), encode(f.read().decode("utf-8", errors="replace"))]
    assert np.array_equal(np.concatenate(parts), c.val)
    assert c.files["val"] == len(val) == int((c.val == 0).sum())
    assert c.sizes() == {"train": len(c.train), "val": len(c.val), "test": len(c.test)}


def test_a_folder_of_files_splits_by_relative_path_and_skips_installed_packages(tmp_path):
    names = [f"m{i}.py" for i in range(60)] + ["pkg/a.py", "site-packages/x.py", "__pycache__/y.py", "notes.txt"]
    for n in names:
        (tmp_path / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / n).write_text(f"# {n}\nx = 'é'\n", encoding="utf-8")
    files = source_files(str(tmp_path))
    assert files == sorted([f"m{i}.py" for i in range(60)] + ["pkg/a.py"])
    c = load_corpus(str(tmp_path))
    assert sum(c.files.values()) == 61
    sizes = {s: sum(len(f"# {p}\nx = 'é'\n") + 1 for p in files if split_of(p) == s) for s in c.files}
    assert c.sizes() == sizes


def test_a_folder_that_cannot_fill_every_split_is_an_error(tmp_path):
    (tmp_path / "only.py").write_text("x = 1\n")
    with pytest.raises(lk.SpecError, match=r"load_corpus\(\): root must be a folder whose .py files fill every "):
        load_corpus(str(tmp_path))
    with pytest.raises(lk.SpecError, match=r"load_corpus\(\): root must be an existing folder"):
        load_corpus(str(tmp_path / "missing"))


def test_characters_map_to_ascii_codes_and_one_other_code():
    assert encode("def f():\n\treturn 'ü€😀'").tolist() == [ord(c) for c in "def f():\n\treturn '"] + [OTHER] * 3 + [39]
    assert VOCAB == 128 and encode("\x7f").tolist() == [OTHER]


def test_unigram_entropy_against_its_formula():
    codes = encode("aab" * 10 + "c")
    p = np.array([20, 10, 1]) / 31
    assert unigram_bits(codes) == pytest.approx(float(-(p * np.log2(p)).sum()), rel=1e-12)
    assert 4.0 < unigram_bits(load_corpus().test) < 5.5


def test_a_run_never_reads_a_window_twice_and_targets_are_next_characters():
    c = load_corpus()
    steps, context, batch = 1500, 64, 16            # the default run
    s = Stream(c.train, context=context, batch_size=batch, seed=3)
    starts = np.concatenate([s.starts(i) for i in range(steps)])
    assert np.array_equal(starts, s.order(steps))
    assert len(np.unique(starts)) == steps * batch
    gaps = np.diff(np.sort(starts))
    assert gaps.min() >= context                     # target spans [start + 1, start + context] are disjoint
    x, y = s.batch(7)
    text = c.train.astype(np.int64)
    for row, st in enumerate(s.starts(7)):
        assert np.array_equal(x[row], text[st:st + context]) and np.array_equal(y[row], text[st + 1:st + context + 1])


def test_the_stream_reads_every_window_once_when_run_to_its_end():
    codes = np.arange(1000, dtype=np.int64).astype(np.uint8)
    s = Stream(codes, context=8, batch_size=5, seed=0)
    starts = np.concatenate([s.starts(i) for i in range(s.capacity)])
    assert len(np.unique(starts)) == len(starts) == s.capacity * 5
    assert np.all((starts - s.phase) % 8 == 0) and 0 <= s.phase < 8
    n = (len(codes) - 1 - s.phase) // 8                      # every window that fits
    assert sorted(s.permutation.tolist()) == list(range(n)) and s.capacity == n // 5
    assert starts.max() + 8 < len(codes)                     # the last target character exists
    with pytest.raises(lk.SpecError, match=r"Stream.batch\(\): i must be a batch index in \[0, "):
        s.batch(s.capacity)


def test_the_order_is_the_seeds_and_only_the_seeds():
    c = load_corpus()
    a, b = (Stream(c.train, context=64, batch_size=16, seed=5) for _ in range(2))
    other = Stream(c.train, context=64, batch_size=16, seed=6)
    assert np.array_equal(a.order(300), b.order(300))
    assert not np.array_equal(a.order(300), other.order(300))


def test_a_run_longer_than_the_split_is_an_error_naming_the_settings():
    s = Stream(np.zeros(1000, np.uint8), context=10, batch_size=4, seed=0)
    s.check(s.capacity, "train")
    with pytest.raises(lk.SpecError) as e:
        s.check(s.capacity + 1, "train")
    msg = str(e.value)
    assert msg.startswith(f"train(): steps must be <= {s.capacity} for batch_size=4, context=10: ")
    assert f"reads each at most once (it would need {4 * (s.capacity + 1)}); got steps={s.capacity + 1}" in msg


def test_evaluation_windows_are_fixed_evenly_spaced_and_disjoint():
    c = load_corpus()
    x, y = eval_windows(c.val, context=64, count=256)
    x2, _ = eval_windows(c.val, context=64, count=256)
    assert x.shape == y.shape == (256, 64) and np.array_equal(x, x2)
    assert np.array_equal(x[:, 1:], y[:, :-1])
    stride = (len(c.val) - 1 - 64) // 255
    assert stride >= 64
    for i in (0, 3, 255):
        assert np.array_equal(x[i], c.val[i * stride:i * stride + 64].astype(np.int64))
