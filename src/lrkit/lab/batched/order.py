"""The batch order of a seed: one rule for the lab and the experiments.

Epoch ``e`` of a run with seed ``s`` visits the ``n`` training samples in the
order of the ``e``-th permutation drawn from ``numpy.random.default_rng(s)``;
its batches are consecutive slices of that permutation. The lab trains on
every slice (``ceil(n / batch_size)`` steps per epoch, the last one shorter);
a run that needs batches of one size (the experiments' stacked MLPs) leaves
the short last slice out (``n // batch_size`` steps per epoch, as torch's
``DataLoader(drop_last=True)``). Either way a seed sees the same sample
order, and runs with the same seed see the same batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...checks import fail, integer

__all__ = ["epoch_orders", "step_orders"]


def epoch_orders(seed: int, n: int, epochs: int) -> list[np.ndarray]:
    """The sample order of every epoch: ``epochs`` permutations of ``range(n)`` from ``default_rng(seed)``.

    Epoch ``e``'s batch ``b`` of size ``B`` is ``orders[e][b * B:(b + 1) * B]``.
    What the built-in lab trains on and fingerprints as ``batches``.

    >>> [o.tolist() for o in epoch_orders(0, 4, 2)]
    [[2, 0, 1, 3], [3, 2, 1, 0]]
    """
    integer("epoch_orders", "seed", seed, ge=0)
    integer("epoch_orders", "n", n, ge=1)
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(integer("epoch_orders", "epochs", epochs, ge=0))]


def step_orders(seeds: Sequence[int], n: int, batch_size: int, steps: int) -> np.ndarray:
    """Per model, the sample indices of each step, batches of one size: shape ``(steps, len(seeds), batch_size)``.

    Model ``r``'s steps are the full batches of :func:`epoch_orders` of
    ``seeds[r]``, epoch after epoch (``n // batch_size`` per epoch; the short
    last slice of an epoch is left out); models with the same seed see the same batches.

    >>> order = step_orders([0, 1, 0], n=5, batch_size=2, steps=3)   # 2 steps per epoch
    >>> order.shape, order[:, 0].tolist() == [[2, 4], [3, 0], [4, 1]], bool((order[:, 0] == order[:, 2]).all())
    ((3, 3, 2), True, True)
    """
    if len(seeds) == 0:
        raise fail("step_orders", "seeds", "a list holding at least one seed", list(seeds))
    integer("step_orders", "batch_size", batch_size, ge=1)
    per_epoch = integer("step_orders", "n", n, ge=batch_size) // batch_size
    epochs = -(-integer("step_orders", "steps", steps, ge=0) // per_epoch)
    cut = per_epoch * batch_size
    rows = {s: np.concatenate([o[:cut] for o in epoch_orders(int(s), n, epochs)] or [np.zeros(0, np.int64)])
            for s in set(seeds)}
    return np.stack([rows[s][:steps * batch_size].reshape(steps, batch_size) for s in seeds], axis=1)
