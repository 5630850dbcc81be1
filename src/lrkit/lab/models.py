"""Small models for the lab and the range test (torch)."""

from __future__ import annotations

from ..checks import integer, one_of

__all__ = ["MODELS", "make_model"]

MODELS = ("linear", "mlp", "cnn1d")


def make_model(kind: str, n_features: int, n_classes: int, *, seed: int = 0, hidden: int = 128):
    """A fresh model, initialised from ``seed`` (same seed, same weights).

    - ``linear``: softmax regression.
    - ``mlp``: two hidden layers of ``hidden`` units, ReLU.
    - ``cnn1d``: two 1-D convolutions over the features, then a linear head.

    >>> m = make_model("mlp", 64, 10, seed=0)
    >>> sum(p.numel() for p in m.parameters())
    26122
    """
    try:
        import torch
        from torch import nn
    except ImportError:
        from ..errors import MissingDependencyError

        raise MissingDependencyError("torch", "lab") from None
    one_of("make_model", "kind", kind, MODELS)
    integer("make_model", "seed", seed, ge=0)
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model: nn.Module
        if kind == "linear":
            model = nn.Linear(n_features, n_classes)
        elif kind == "mlp":
            model = nn.Sequential(
                nn.Linear(n_features, hidden), nn.ReLU(),
                nn.Linear(hidden, hidden), nn.ReLU(),
                nn.Linear(hidden, n_classes),
            )
        else:
            model = nn.Sequential(
                nn.Unflatten(1, (1, n_features)),
                nn.Conv1d(1, 16, 5, padding=2), nn.ReLU(),
                nn.Conv1d(16, 16, 5, padding=2, stride=2), nn.ReLU(),
                nn.Flatten(),
                nn.Linear(16 * ((n_features + 1) // 2), n_classes),
            )
    finally:
        torch.random.set_rng_state(gen_state)
    return model
