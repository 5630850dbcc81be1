"""Stepping a real torch optimizer and scheduler, recording the lr (shared by the conformance tests)."""

from __future__ import annotations

import warnings

import numpy as np
import torch


def _optimizer(lr: float, momentum: float = 0.0) -> torch.optim.SGD:
    p = torch.nn.Parameter(torch.zeros(1))
    return torch.optim.SGD([p], lr=lr, momentum=momentum)


def torch_lrs(make, steps: int, lr: float, momentum: float = 0.0) -> np.ndarray:
    """lr at t = 0 (after construction) and after each of ``steps`` real steps."""
    opt = _optimizer(lr, momentum)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sched = make(opt)
        out = [opt.param_groups[0]["lr"]]
        for _ in range(steps):
            opt.step()
            sched.step()
            out.append(opt.param_groups[0]["lr"])
    return np.array(out, dtype=np.float64)
