"""Under torch.distributed (gloo, 2 processes, 127.0.0.1) the plateau sees the mean metric.

Ranks feed different metrics; every rank must end with identical lrs, and those
lrs must be the ones a single process gets from the mean metric.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import lrkit as lk

pytestmark = pytest.mark.slow  # subprocesses, training, several processes or a compiler

WORKER = Path(__file__).with_name("_dist_worker.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(tmp_path: Path, world: int = 2) -> list[dict]:
    port = free_port()
    outs = [tmp_path / f"rank{r}.json" for r in range(world)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(r), str(world), str(port), str(out)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r, out in enumerate(outs)]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    return [json.loads(out.read_text()) for out in outs]


def test_ranks_with_different_metrics_take_identical_steps(tmp_path):
    sys.path.insert(0, str(WORKER.parent))
    try:
        import _dist_worker as w
    finally:
        sys.path.pop(0)
    r0, r1 = run_ranks(tmp_path)
    assert r0["metrics"] != r1["metrics"]
    assert r0["lrs"] == r1["lrs"]
    assert r0["reductions"] == r1["reductions"] >= 1
    # the decisions are those of the mean metric, computed here in one process
    plateau = lk.Plateau(factor=0.5, patience=1)
    expected = []
    for t in range(w.STEPS):
        if t % w.EVERY == w.EVERY - 1:
            i = t // w.EVERY
            plateau.update((r0["metrics"][i] + r1["metrics"][i]) / 2)
        expected.append(0.1 * w.SCHEDULE(t + 1) * plateau.scale)
    assert r0["lrs"] == expected
    # and they differ from what rank 0 alone would have decided
    alone = lk.Plateau(factor=0.5, patience=1)
    for m in r0["metrics"]:
        alone.update(m)
    assert alone.reductions != r0["reductions"]
