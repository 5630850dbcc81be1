"""The language models of ``pycode`` and their training loop (torch).

- :func:`make_model`: a small causal transformer (pre-norm blocks, learned
  positions, ``scaled_dot_product_attention`` with a causal mask) or a GRU,
  over the :data:`~lrkit.lab.corpus.VOCAB` = 128 character codes; initial
  weights drawn from ``seed`` (same seed, same weights).
- :func:`evaluate_bits`: the mean next-character loss on fixed windows, in
  bits per character: ``mean(-log2 p(target))`` over every position of every window.
- :class:`Trainer`: one run: a real ``torch.optim.AdamW`` (weight decay on
  matrices and embeddings only, betas ``(0.9, 0.95)``, gradients clipped to
  norm ``clip``) driven by :class:`lrkit.torch.Scheduler`, reading the run's
  :class:`~lrkit.lab.corpus.Stream`. :meth:`Trainer.branch` continues a copy
  from the current step under another schedule (the state saved and loaded
  as a user would: ``Scheduler.load_state_dict(..., new_schedule=True)``).
  ``optimizer="schedulefree"`` uses ``schedulefree.AdamWScheduleFree`` (the
  ``schedulefree`` extra), evaluated at its averaged weights.

A run whose training loss turns non-finite stops (``diverged``); its bits are ``nan``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..checks import integer, one_of
from ..errors import MissingDependencyError
from .corpus import VOCAB, Stream

__all__ = ["BETAS", "MODELS", "OPTIMIZERS", "Trainer", "evaluate_bits", "make_model", "param_groups", "parameter_count"]

MODELS = ("transformer", "gru")
OPTIMIZERS = ("adamw", "schedulefree")
BETAS = (0.9, 0.95)


def _torch():
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "lab") from None
    return torch


def _modules():
    """The model classes (built on first use: ``import lrkit.lab.lm`` imports no torch)."""
    torch = _torch()  # first: a clear error when torch is missing
    from torch import nn
    from torch.nn import functional as F

    class Block(nn.Module):
        """Pre-norm block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))`` (GELU, 4x wide)."""

        def __init__(self, width: int, heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class Transformer(nn.Module):
        """Character embedding + learned positions, ``layers`` blocks, a final norm, a linear head."""

        def __init__(self, width: int, layers: int, heads: int, context: int) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, width)
            self.pos = nn.Parameter(torch.randn(context, width) * 0.02)
            self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
            self.ln = nn.LayerNorm(width)
            self.head = nn.Linear(width, VOCAB)

        def forward(self, x):
            h = self.embed(x) + self.pos[: x.shape[1]]
            for block in self.blocks:
                h = block(h)
            return self.head(self.ln(h))

    class GRU(nn.Module):
        """Character embedding, a ``layers``-deep GRU of ``width`` units, a linear head."""

        def __init__(self, width: int, layers: int) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, width)
            self.rnn = nn.GRU(width, width, num_layers=layers, batch_first=True)
            self.head = nn.Linear(width, VOCAB)

        def forward(self, x):
            return self.head(self.rnn(self.embed(x))[0])

    return Transformer, GRU


def make_model(kind: str = "transformer", *, width: int = 64, layers: int = 2, heads: int = 4, context: int = 64,
               seed: int = 0):
    """A fresh character-level model, initialised from ``seed`` (torch's own RNG state is left as it was).

    ``transformer``: ``layers`` pre-norm blocks of ``width`` (``heads`` heads, MLP 4x ``width``),
    at most ``context`` positions. ``gru``: ``layers`` GRU layers of ``width`` units.
    Both map ``(batch, time)`` codes to ``(batch, time, 128)`` logits of the next character.

    >>> parameter_count(make_model("transformer", width=64, layers=2, heads=4, context=64))
    120704
    """
    torch = _torch()
    one_of("make_model", "kind", kind, MODELS)
    width, layers = integer("make_model", "width", width, ge=1), integer("make_model", "layers", layers, ge=1)
    seed = integer("make_model", "seed", seed, ge=0)
    transformer, gru = _modules()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "gru":
            return gru(width, layers)
        return transformer(width, layers, integer("make_model", "heads", heads, ge=1),
                           integer("make_model", "context", context, ge=1))


def parameter_count(model) -> int:
    """The number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def evaluate_bits(model, x: np.ndarray, y: np.ndarray, chunk: int = 64) -> float:
    """Mean loss of ``model`` on windows ``(x, y)`` in bits per character (every position counts).

    ``(1 / N) sum -log2 p(y_i | x_<=i)`` over the ``N`` target characters; ``nan`` when not finite.
    """
    torch = _torch()
    was = model.training
    model.eval()
    total = 0.0
    try:
        with torch.no_grad():
            for lo in range(0, len(x), chunk):
                xb, yb = torch.from_numpy(x[lo:lo + chunk]), torch.from_numpy(y[lo:lo + chunk])
                logits = model(xb)
                total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), yb.reshape(-1),
                                                                 reduction="sum"))
    finally:
        model.train(was)
    value = total / (y.size * math.log(2))
    return value if math.isfinite(value) else math.nan


def param_groups(model, weight_decay: float) -> list[dict]:
    """The optimizer's two groups: weight decay on matrices and embeddings (``dim >= 2``), none on biases,
    norms and positions (as in LLM training)."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and n != "pos"]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and n != "pos")]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


class Trainer:
    """One training run of a character model on a :class:`~lrkit.lab.corpus.Stream` (module doc).

    ``step`` counts the updates taken; :meth:`advance` takes more; :meth:`bits` scores windows;
    ``train_bits`` holds the mean training loss (bits) of each :meth:`advance` call.

    Example::

        tr = Trainer(model, stream, "warmup(50) >> linear(450)", lr=3e-3, weight_decay=0.1)
        tr.advance(500)
        tr.bits(x_val, y_val)
    """

    def __init__(self, model, stream: Stream, schedule: Any, *, lr: float, weight_decay: float, clip: float = 1.0,
                 optimizer: str = "adamw", warmup_steps: int = 0, plateau=None) -> None:
        from ..torch import Scheduler

        self.model, self.stream, self.clip = model, stream, float(clip)
        self.kind = one_of("Trainer", "optimizer", optimizer, OPTIMIZERS)
        self._settings = {"lr": lr, "weight_decay": weight_decay, "warmup_steps": warmup_steps}
        self.optimizer = self._optimizer(model)
        self.scheduler = Scheduler(self.optimizer, schedule, plateau=plateau)
        self.step, self.diverged = 0, False
        self.train_bits: list[float] = []

    def _optimizer(self, model):
        """A fresh optimizer of this run's kind and settings over ``model``'s parameters."""
        torch = _torch()
        lr, wd = self._settings["lr"], self._settings["weight_decay"]
        if self.kind == "adamw":
            return torch.optim.AdamW(param_groups(model, wd), lr=lr, betas=BETAS)
        try:
            import schedulefree
        except ImportError:
            raise MissingDependencyError("schedulefree", "schedulefree") from None
        return schedulefree.AdamWScheduleFree(param_groups(model, wd), lr=lr, betas=BETAS,
                                              warmup_steps=self._settings["warmup_steps"])

    def _mode(self, training: bool) -> None:
        self.model.train(training)
        if self.kind == "schedulefree":   # its weights to train at, or its averaged weights to evaluate
            self.optimizer.train() if training else self.optimizer.eval()

    def advance(self, steps: int, on_step: Callable[[int], Any] | None = None) -> float:
        """Take ``steps`` more updates (batches ``step .. step + steps - 1`` of the stream); return their
        mean training loss in bits (``nan`` once the run has diverged: it then takes no more steps)."""
        torch = _torch()
        F = torch.nn.functional
        self.stream.check(self.step + steps, "Trainer.advance")
        total, n = 0.0, 0
        self._mode(True)
        for _ in range(steps):
            if self.diverged:
                break
            x, y = (torch.from_numpy(a) for a in self.stream.batch(self.step))
            loss = F.cross_entropy(self.model(x).reshape(-1, VOCAB), y.reshape(-1))
            value = float(loss.detach())
            if not math.isfinite(value):
                self.diverged = True
                break
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
            self.optimizer.step()
            self.scheduler.step()
            self.step += 1
            total, n = total + value, n + 1
            if on_step is not None:
                on_step(self.step)
        mean = math.nan if self.diverged or n == 0 else total / (n * math.log(2))
        self.train_bits.append(mean)
        return mean

    def bits(self, x: np.ndarray, y: np.ndarray) -> float:
        """The loss on windows ``(x, y)`` in bits per character (``nan`` for a diverged run)."""
        if self.diverged:
            return math.nan
        self._mode(False)
        try:
            return evaluate_bits(self.model, x, y)
        finally:
            self._mode(True)

    @property
    def lr(self) -> float:
        """The lr the next update uses (first param group)."""
        return float(self.optimizer.param_groups[0]["lr"])

    def branch(self, schedule: Any) -> Trainer:
        """A new run that continues this one from its current step under ``schedule``.

        Its model, optimizer and scheduler are rebuilt and loaded from this run's
        ``state_dict()`` s (as from a checkpoint); the scheduler with
        ``load_state_dict(state, new_schedule=True)``: the saved step and bases,
        the new schedule. This run is left as it was.
        """
        from ..torch import Scheduler

        new = copy.copy(self)
        new.model = copy.deepcopy(self.model)
        new.model.load_state_dict(self.model.state_dict())
        new.optimizer = self._optimizer(new.model)      # (torch's load_state_dict keeps the given tensors: copy them)
        new.optimizer.load_state_dict(copy.deepcopy(self.optimizer.state_dict()))
        new.scheduler = Scheduler(new.optimizer, schedule)
        new.scheduler.load_state_dict(copy.deepcopy(self.scheduler.state_dict()), new_schedule=True)
        new.train_bits = list(self.train_bits)
        return new
