"""Both tools read off the same recorded sweep.

``lrkit_result`` replays the raw losses through ``lrkit.finder.range_test``
(its own smoothing, divergence stop and heuristics); ``torch_lr_finder_lr``
replays them through torch-lr-finder's real ``LRFinder.range_test`` (its
smoothing ``smooth_f=0.05`` and stop at 5x the best loss, its defaults) and
``LRFinder.plot(suggest_lr=True)`` (steepest ``np.gradient``, skipping 10
points at the start and 5 at the end, its defaults), with a one-parameter
model whose loss at step i is the recorded loss i. The recorded sweep ends at
its first NaN/inf loss; it is replayed as ``inf``, where torch-lr-finder stops
as lrkit does (on a NaN it would carry on and may suggest a diverged lr: the
replay gives it the benefit of the doubt).
"""

from __future__ import annotations

import contextlib
import io

import torch


def lrkit_result(lrs: list[float], losses: list[float]):
    """lrkit's range test on the recorded curve, with the default sweep arguments."""
    from lrkit.finder import range_test, sweep_lrs

    from .problems import SWEEP

    want = sweep_lrs(**SWEEP).tolist()
    if lrs != want[:len(lrs)]:
        raise AssertionError("the recorded sweep is not lrkit's default sweep")
    tail = iter(list(losses) + [float("inf")] * (SWEEP["steps"] - len(losses)))
    return range_test(lambda lr: next(tail), **SWEEP)


def round2_default(result) -> float | None:
    """The default of round 2, before ``edge/3``: the edge itself (``rise/4`` when the loss never fell)."""
    from lrkit.finder import heuristics as h
    from lrkit.finder.curve import read

    if result.method != "edge/3":
        return result.suggestion
    reading = read(result.lrs, result.losses, h.skip_count(len(result.lrs), result.smooth))
    return h.edge(dict(result.suggestions), reading)[0]


class _Replay(torch.nn.Module):
    """A model whose output is the next recorded loss (plus 0 x a parameter, so there is a gradient)."""

    def __init__(self, losses):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))
        self.losses, self.i = list(losses), 0

    def forward(self, x):
        value = self.losses[self.i] if self.i < len(self.losses) else float("inf")
        self.i += 1
        return self.w * 0.0 + value


def torch_lr_finder_run(losses: list[float], start: float, end: float, steps: int):
    """torch-lr-finder's own range test on a replayed loss sequence: its ``history`` (lrs, smoothed losses)."""
    from torch.utils.data import DataLoader, TensorDataset
    from torch_lr_finder import LRFinder

    model = _Replay(losses)
    opt = torch.optim.SGD(model.parameters(), lr=start)
    finder = LRFinder(model, opt, lambda out, y: out.mean())
    loader = DataLoader(TensorDataset(torch.zeros(steps, 1), torch.zeros(steps, 1)), batch_size=1)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        finder.range_test(loader, start_lr=start, end_lr=end, num_iter=steps)
    return finder


def torch_lr_finder_lr(losses: list[float], start: float, end: float, steps: int) -> float | None:
    """torch-lr-finder's suggestion on the replayed sweep; None when it gives none (too few points)."""
    from matplotlib.figure import Figure

    finder = torch_lr_finder_run(losses, start, end, steps)
    ax = Figure().add_subplot()
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            _, lr = finder.plot(ax=ax, suggest_lr=True)
        except RuntimeError:        # "Need at least 17 iterations to suggest a learning rate"
            return None
    return float(lr)


def torch_lr_finder_direct(net, opt, loss_fn, batches, start: float, end: float, steps: int):
    """torch-lr-finder run on the real model (no replay): ``(raw losses, suggestion)``, to show the replay is
    faithful (same seeds, same batches; its lrs differ from lrkit's only in the last bits)."""
    from matplotlib.figure import Figure
    from torch.utils.data import DataLoader
    from torch_lr_finder import LRFinder, TrainDataLoaderIter

    raw: list[float] = []

    def criterion(out, y):
        loss = loss_fn(out, y)
        raw.append(float(loss.detach()))
        return loss

    finder = LRFinder(net, opt, criterion)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        finder.range_test(TrainDataLoaderIter(DataLoader(batches, batch_size=None)), start_lr=start, end_lr=end,
                          num_iter=steps)
        try:
            _, lr = finder.plot(ax=Figure().add_subplot(), suggest_lr=True)
        except RuntimeError:
            lr = None
    return raw, (None if lr is None else float(lr))
