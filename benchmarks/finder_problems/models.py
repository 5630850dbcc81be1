"""Small torch models for the benchmark, built from a seed (same seed, same weights)."""

from __future__ import annotations

import torch
from torch import nn


class Recurrent(nn.Module):
    """A GRU or LSTM over a flattened sequence ``(N, steps * channels)``; the last hidden state feeds a linear head."""

    def __init__(self, cell: str, channels: int, hidden: int, out: int):
        super().__init__()
        self.channels = channels
        self.rnn = (nn.GRU if cell == "gru" else nn.LSTM)(channels, hidden, batch_first=True)
        self.head = nn.Linear(hidden, out)

    def forward(self, x):
        seq, _ = self.rnn(x.reshape(len(x), -1, self.channels))
        return self.head(seq[:, -1])


def _cnn2d(side: int, out: int, bn: bool) -> nn.Module:
    norm = (lambda c: nn.BatchNorm2d(c)) if bn else (lambda c: nn.Identity())
    return nn.Sequential(
        nn.Unflatten(1, (1, side, side)),
        nn.Conv2d(1, 16, 3, padding=1), norm(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, stride=2), norm(32), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * ((side + 1) // 2) ** 2, out),
    )


def _cnn1d(length: int, out: int) -> nn.Module:
    return nn.Sequential(
        nn.Unflatten(1, (1, length)),
        nn.Conv1d(1, 16, 5, padding=2), nn.ReLU(),
        nn.Conv1d(16, 32, 5, padding=2, stride=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * ((length + 1) // 2), out),
    )


class TinyTransformer(nn.Module):
    """Rows of ``tokens`` features as a sequence: a linear embedding, one transformer encoder layer
    (4 heads, width 32), mean pooling, a linear head."""

    def __init__(self, n_features: int, tokens: int, out: int):
        super().__init__()
        self.tokens = tokens
        self.embed = nn.Linear(n_features // tokens, 32)
        self.pos = nn.Parameter(torch.zeros(tokens, 32))
        self.encoder = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.head = nn.Linear(32, out)

    def forward(self, x):
        h = self.embed(x.reshape(len(x), self.tokens, -1)) + self.pos
        return self.head(self.encoder(h).mean(dim=1))


class ResidualMLP(nn.Module):
    """A linear stem, three residual blocks ``x + W2 relu(LayerNorm(W1 x))`` of width 64, a linear head."""

    def __init__(self, n_features: int, out: int):
        super().__init__()
        self.stem = nn.Linear(n_features, 64)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(64), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64))
                                    for _ in range(3))
        self.head = nn.Linear(64, out)

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


def _mlp(n_features: int, out: int, layers: int, act=nn.ReLU, bn: bool = False, dropout: float = 0.0):
    parts, width = [], n_features
    for _ in range(layers):
        parts += [nn.Linear(width, 64)] + ([nn.BatchNorm1d(64)] if bn else []) + [act()]
        parts += [nn.Dropout(dropout)] if dropout else []
        width = 64
    return nn.Sequential(*parts, nn.Linear(width, out))


def make(kind: str, n_features: int, out: int, seed: int) -> nn.Module:
    """``linear``, ``mlp`` (2 x 64 ReLU), ``cnn1d``, ``cnn2d``, ``cnn2d-bn``, ``gru-C`` / ``lstm-C``
    (a recurrent model reading C channels per time step); added for the round-2 report split:
    ``mlp-bn`` (with BatchNorm), ``mlp-tanh`` (tanh, dropout 0.1), ``mlp4`` (4 x 64 ReLU), ``resmlp``
    (3 residual blocks with LayerNorm), ``transformer-T`` (T tokens, one encoder layer)."""
    torch.manual_seed(seed)
    if kind == "linear":
        return nn.Linear(n_features, out)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(n_features, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, out))
    if kind == "mlp-bn":
        return _mlp(n_features, out, 2, bn=True)
    if kind == "mlp-tanh":
        return _mlp(n_features, out, 2, act=nn.Tanh, dropout=0.1)
    if kind == "mlp4":
        return _mlp(n_features, out, 4)
    if kind == "resmlp":
        return ResidualMLP(n_features, out)
    if kind.startswith("transformer-"):
        return TinyTransformer(n_features, int(kind.split("-")[1]), out)
    if kind == "cnn1d":
        return _cnn1d(n_features, out)
    if kind in ("cnn2d", "cnn2d-bn"):
        return _cnn2d(round(n_features ** 0.5), out, bn=kind.endswith("bn"))
    cell, channels = kind.split("-")
    return Recurrent(cell, int(channels), 64, out)
