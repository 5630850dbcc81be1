"""One rank of the torch.distributed plateau test (run by test_torch_distributed.py).

    python _dist_worker.py RANK WORLD PORT OUT.json

Each rank sees its own validation metric; lrkit averages it over ranks before
the plateau uses it, so every rank must end with the same lrs.
"""

from __future__ import annotations

import json
import math
import sys

import torch
import torch.distributed as dist

import lrkit as lk
from lrkit.torch import Scheduler

STEPS, EVERY = 200, 5
SCHEDULE = lk.warmup(20) >> lk.cosine(180, end=0.05)


def metric(rank: int, t: int) -> float:
    """Rank 0 keeps improving a little, rank 1 stalls: their mean plateaus sometimes."""
    if rank == 0:
        return 1.0 / (1 + t / 50) + 0.02 * math.sin(t)
    return 0.5 + 0.1 * math.cos(t / 3)


def main(rank: int, world: int, port: int, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sched = Scheduler(opt, SCHEDULE, plateau=lk.Plateau(factor=0.5, patience=1))
        lrs, metrics = [], []
        for t in range(STEPS):
            opt.step()
            if t % EVERY == EVERY - 1:
                metrics.append(metric(rank, t))
                sched.step(torch.tensor(metrics[-1], dtype=torch.float64))  # a 0-d tensor, as users pass
            else:
                sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        with open(out, "w") as f:
            json.dump({"lrs": lrs, "metrics": metrics, "reductions": sched.plateau.reductions}, f)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
