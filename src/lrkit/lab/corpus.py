"""``pycode``'s text: the ``.py`` files of the running interpreter's standard library, as characters.

Every Python install carries its standard library, so this data needs no
download. The text is fixed by the Python version (the report names it).

- **Files**: every ``*.py`` under ``sysconfig.get_paths()["stdlib"]``, except
  ``site-packages`` / ``dist-packages`` (installed packages, not the standard
  library) and ``__pycache__``; read as UTF-8 (an undecodable byte becomes
  U+FFFD), newlines as written.
- **Split** by file, by a stable hash of each file's path relative to that
  folder (``/``-separated): ``h = int(sha256(path)[:8], 16) % 100``; train
  when ``h < 80``, validation when ``h < 90``, else test. Every machine with
  the same Python splits alike, and no file is in two splits.
- **Characters**: code ``ord(c)`` for ASCII (``ord(c) < 127``), one code
  (127, :data:`OTHER`) for every other character: a vocabulary of
  :data:`VOCAB` = 128. Files are joined in the order of their paths, each
  preceded by a NUL (code 0, which Python source cannot hold): the model sees
  where a file starts.
- **Training stream** (:class:`Stream`): the training text cut into disjoint
  windows of ``context + 1`` characters overlapping by one (window ``k``
  starts at ``phase + k * context``; the input is its first ``context``
  characters, the target the last ``context``), read in an order drawn from the
  seed. No window, and no target character, is read twice in a run; a run that
  would need more windows than the split holds is an error.
- **Evaluation windows** (:func:`eval_windows`): ``count`` windows evenly
  spaced over the validation or test text, the same for every run and seed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sysconfig
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..checks import fail, integer

__all__ = ["OTHER", "SPLITS", "VOCAB", "Corpus", "Stream", "encode", "eval_windows", "load_corpus", "source_files",
           "split_of", "unigram_bits"]

VOCAB = 128   # codes 0..126: ASCII; 127: any other character
OTHER = 127
SEPARATOR = 0
SPLITS = ("train", "val", "test")
_SKIP = {"site-packages", "dist-packages", "__pycache__"}


def split_of(path: str) -> str:
    """The split of a file by its ``/``-separated path relative to the standard library folder.

    ``h = int(sha256(path)[:8], 16) % 100``: ``"train"`` for ``h < 80``, ``"val"`` for ``h < 90``, else ``"test"``.

    >>> split_of("json/decoder.py"), split_of("json/decoder.py") == split_of("json/decoder.py")
    ('train', True)
    """
    h = int(hashlib.sha256(path.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if h < 80 else "val" if h < 90 else "test"


def source_files(root: str) -> list[str]:
    """The ``.py`` files under ``root`` (``/``-separated relative paths, sorted), without
    ``site-packages``, ``dist-packages`` and ``__pycache__``."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP)
        rel = os.path.relpath(folder, root)
        for f in files:
            if f.endswith(".py"):
                out.append(f if rel == "." else f"{rel}/{f}".replace(os.sep, "/"))
    return sorted(out)


def encode(text: str) -> np.ndarray:
    """Character codes (``uint8``): ``ord(c)`` for ASCII below 127, :data:`OTHER` (127) for any other character.

    >>> encode("a\\té").tolist()
    [97, 9, 127]
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return np.minimum(codes, OTHER).astype(np.uint8)


def unigram_bits(codes: np.ndarray) -> float:
    """The entropy of the character frequencies of ``codes``, in bits per character: the loss of the
    best model that ignores context.

    >>> unigram_bits(np.array([1, 1, 2, 2], np.uint8))
    1.0
    """
    counts = np.bincount(np.asarray(codes, np.int64), minlength=VOCAB).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


@dataclass(frozen=True)
class Corpus:
    """The three splits as character codes, and where they came from."""

    root: str
    python: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    files: dict[str, int]

    def split(self, name: str) -> np.ndarray:
        """The codes of split ``name`` (``"train"``, ``"val"`` or ``"test"``)."""
        if name not in SPLITS:
            raise fail("Corpus.split", "name", "one of 'train', 'val', 'test'", name)
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        """Characters per split (file separators included)."""
        return {s: len(self.split(s)) for s in SPLITS}


@lru_cache(maxsize=2)
def load_corpus(root: str | None = None) -> Corpus:
    """The standard library of this interpreter (or the ``.py`` files under ``root``), split and encoded.

    A folder with no ``.py`` file, or a split left empty, is an error.

    Example::

        c = load_corpus()
        c.python, c.sizes()       # ('3.11.7', {'train': 25..., 'val': 3..., 'test': 3...})
    """
    root = sysconfig.get_paths()["stdlib"] if root is None else root
    if not os.path.isdir(root):
        raise fail("load_corpus", "root", "an existing folder", root)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    sep = np.array([SEPARATOR], np.uint8)
    for path in source_files(root):
        with open(os.path.join(root, path), "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        parts[split_of(path)] += [sep, encode(text)]
    empty = [s for s in SPLITS if not parts[s]]
    if empty:
        raise fail("load_corpus", "root", f"a folder whose .py files fill every split (none in {', '.join(empty)})",
                   root)
    joined = {s: np.concatenate(parts[s]) for s in SPLITS}
    return Corpus(root, platform.python_version(), joined["train"], joined["val"], joined["test"],
                  {s: len(parts[s]) // 2 for s in SPLITS})


class Stream:
    """The training windows of one run, in the order drawn from ``seed`` (module doc).

    ``batch(i)`` is the ``i``-th batch: inputs and targets, ``(batch_size, context)`` int64 arrays.
    Window ``k`` of the split starts at ``phase + k * context``; the run reads them in the order
    ``permutation`` (both drawn from ``seed``), ``batch_size`` at a time.

    >>> s = Stream(np.arange(100, dtype=np.uint8), context=4, batch_size=2, seed=0)
    >>> x, y = s.batch(0)
    >>> x.shape, bool((x[:, 1:] == y[:, :-1]).all()), s.capacity
    ((2, 4), True, 12)
    """

    def __init__(self, codes: np.ndarray, *, context: int, batch_size: int, seed: int) -> None:
        self.codes = np.asarray(codes, np.uint8)
        self.context = integer("Stream", "context", context, ge=1)
        self.batch_size = integer("Stream", "batch_size", batch_size, ge=1)
        rng = np.random.default_rng([integer("Stream", "seed", seed, ge=0), 0x5EED])
        self.phase = int(rng.integers(self.context))
        n = (len(self.codes) - 1 - self.phase) // self.context
        self.permutation = rng.permutation(max(n, 0))
        self.capacity = len(self.permutation) // self.batch_size

    def check(self, steps: int, where: str) -> None:
        """An error naming the settings when a run of ``steps`` would read a window twice."""
        if steps > self.capacity:
            need = steps * self.batch_size
            raise fail(where, "steps", f"<= {self.capacity} for batch_size={self.batch_size}, "
                       f"context={self.context}: the training split holds {len(self.permutation)} windows and a run "
                       f"reads each at most once (it would need {need})", steps)

    def starts(self, i: int) -> np.ndarray:
        """The start positions of the windows of batch ``i``."""
        if not 0 <= i < self.capacity:
            raise fail("Stream.batch", "i", f"a batch index in [0, {self.capacity})", i)
        k = self.permutation[i * self.batch_size:(i + 1) * self.batch_size]
        return self.phase + k * self.context

    def batch(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of batch ``i`` (``(batch_size, context)`` each; targets are inputs shifted by one)."""
        win = self.codes[self.starts(i)[:, None] + np.arange(self.context + 1)].astype(np.int64)
        return win[:, :-1], win[:, 1:]

    def order(self, steps: int) -> np.ndarray:
        """The window starts of the first ``steps`` batches (what a run reads; for its fingerprint)."""
        return self.phase + self.permutation[:steps * self.batch_size] * self.context


def eval_windows(codes: np.ndarray, *, context: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` windows evenly spaced over ``codes`` (the same for every run): inputs and targets,
    ``(count, context)`` int64 each. Fewer when the text holds fewer disjoint windows.

    >>> x, y = eval_windows(np.arange(50, dtype=np.uint8), context=4, count=3)
    >>> x[:, 0].tolist(), y[0].tolist()
    ([0, 22, 44], [1, 2, 3, 4])
    """
    context = integer("eval_windows", "context", context, ge=1)
    count = integer("eval_windows", "count", count, ge=1)
    n = min(count, (len(codes) - 1) // context)
    if n < 1:
        raise fail("eval_windows", "context", f"at most {len(codes) - 1} (the text is that long)", context)
    stride = (len(codes) - 1 - context) // max(n - 1, 1) if n > 1 else 0
    starts = np.arange(n) * stride
    win = np.asarray(codes, np.uint8)[starts[:, None] + np.arange(context + 1)].astype(np.int64)
    return win[:, :-1], win[:, 1:]

