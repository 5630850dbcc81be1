"""A train(run) whose test metric has a known distribution, for calibrating the lab's verdict through compare().

Every run reports one validation value with a clear peak at lr 0.1 (so the lr search has something to
find) and returns a test value that does not depend on the lr: ``b_seed + e`` (a per-seed effect shared by
every schedule, ``seed_sd``, plus independent noise, sd 1), minus ``shift`` for the schedule named
``worse``. With no ``worse``, every schedule is equal in distribution whatever lr it chose: a complete null.
"""

from __future__ import annotations

import math
import zlib

import numpy as np


def simulated(run):
    cfg = run.config
    job = int(cfg["job"])
    name = zlib.crc32(run.name.encode())
    base = np.random.default_rng([job, run.seed]).normal() * cfg.get("seed_sd", 2.0)
    own = np.random.default_rng([job, run.seed, name, int(round(1e6 * run.lr))]).normal(size=2)
    run.report(epoch=0, val=-abs(math.log2(run.lr / 0.1)) + 0.3 * own[0])
    shift = cfg.get("shift", 0.0) if run.name == cfg.get("worse") else 0.0
    return float(base + own[1] - shift)


SCHEDULES = [f"constant({1 - i / 100:g})" for i in range(15)]
