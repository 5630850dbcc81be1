"""Helpers of the lab's tests (imported by name: ``from lab_helpers import ...``)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys

ENV = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1")

#: A user's own train(run), as a user would write it: plain numpy logistic regression on a
#: fixed synthetic problem (train / validation / test), SGD with run.lr * schedule(t) per step.
#: run.config: "log" (a file each call appends to), "fail" (a schedule name that raises),
#: "fail_seed" (only on that seed), "sleep" (seconds per epoch), "poison" (shuffle test labels),
#: "error_rate" (report and return 1 - accuracy, for mode="min").
USER_TRAIN = '''
import time
import numpy as np

def _data(poison=False):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(900, 8))
    w = rng.normal(size=8)
    y = (x @ w + 0.8 * rng.normal(size=900) > 0).astype(float)
    if poison:
        y[600:] = rng.permutation(y[600:])
    return (x[:400], y[:400]), (x[400:600], y[400:600]), (x[600:], y[600:])

def _acc(w, x, y, error=False):
    acc = float(np.mean((x @ w > 0) == (y > 0.5)))
    return 1.0 - acc if error else acc

def train(run):
    cfg = run.config
    if cfg.get("log"):
        with open(cfg["log"], "a") as f:
            f.write(f"start {run.phase} {run.name} {run.lr!r} {run.seed}\\n")
    if cfg.get("fail") == run.name and cfg.get("fail_seed", run.seed) == run.seed:
        raise ValueError(f"boom in {run.name}")
    (xt, yt), (xv, yv), (xs, ys) = _data(cfg.get("poison", False))
    rng = np.random.default_rng(run.seed)
    w = rng.normal(scale=0.5, size=8)
    batch = 40
    schedule = run.bind(steps_per_epoch=len(yt) // batch)
    orders = [rng.permutation(len(yt)) for _ in range(run.epochs)]
    run.fingerprint(init=w, batches=orders)
    t = 0
    for epoch in range(run.epochs):
        for b in range(len(yt) // batch):
            idx = orders[epoch][b * batch:(b + 1) * batch]
            p = 1 / (1 + np.exp(-(xt[idx] @ w)))
            w = w - run.lr * schedule(t) * xt[idx].T @ (p - yt[idx]) / batch
            t += 1
        time.sleep(cfg.get("sleep", 0))
        run.report(epoch=epoch, val=_acc(w, xv, yv, cfg.get("error_rate", False)))
    if cfg.get("log"):
        with open(cfg["log"], "a") as f:
            f.write(f"end {run.phase} {run.name} {run.lr!r} {run.seed}\\n")
    return {"test": _acc(w, xs, ys, cfg.get("error_rate", False)), "norm": float(np.linalg.norm(w))}
'''


def lrkit(*args: str, cwd=None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``lrkit ARGS`` in a subprocess, as a user types it."""
    return subprocess.run([sys.executable, "-m", "lrkit", *args], capture_output=True, text=True, env=ENV,
                          cwd=cwd, timeout=timeout, check=False)


def results(out) -> dict:
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        return json.load(f)


def numbers(doc: dict) -> dict:
    """What must not change between engines or worker counts: the runs and the verdict."""
    return {"verdict": doc["verdict"], "runs": [{k: v for k, v in r.items() if k != "fingerprints"}
                                                for r in doc["runs"]]}


def assert_png(data: bytes) -> None:
    """A PNG that an independent decoder (Pillow) reads, with a real size."""
    from PIL import Image

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.format == "PNG"
        assert img.size[0] > 100 and img.size[1] > 100


def assert_self_contained(page: str, n_images: int) -> None:
    """No external resource (http(s) src/href, scripts, stylesheets); images are PNG data URIs."""
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page.lower() and "<link" not in page.lower() and "@import" not in page
    srcs = re.findall(r"""<img[^>]*\ssrc=["']([^"']+)["']""", page)
    assert len(srcs) == n_images
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert_png(base64.b64decode(src.split(",", 1)[1], validate=True))
