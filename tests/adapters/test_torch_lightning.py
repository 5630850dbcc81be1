"""Lightning accepts lrkit.torch.Scheduler as a plain LRScheduler (no lr_scheduler_step override)."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

import lrkit as lk
from lrkit.torch import Scheduler

# Lightning's own advice (DataLoader workers, batches per epoch on a tiny set) and its use of a
# torch pytree API that torch 2.13 deprecates: unrelated to lrkit
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*does not have many workers:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*number of training batches.*:UserWarning"),
]

BASE_LR = 0.05


class TinyModule(pl.LightningModule):
    def __init__(self, schedule, plateau=None, auto_step=False, monitor=None):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
        self.schedule, self.plateau, self.auto_step, self.monitor = schedule, plateau, auto_step, monitor
        self.seen_lrs: list[float] = []

    def training_step(self, batch, batch_idx):
        self.seen_lrs.append(self.optimizers().param_groups[0]["lr"])
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=BASE_LR, momentum=0.9)
        sched = Scheduler(opt, self.schedule, plateau=self.plateau, auto_step=self.auto_step)
        config = {"scheduler": sched, "interval": "step"}
        if self.monitor:
            config.update(interval="epoch", monitor=self.monitor, reduce_on_plateau=True)
        return {"optimizer": opt, "lr_scheduler": config}


def loader(n=32):
    g = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g))
    return torch.utils.data.DataLoader(data, batch_size=4)


def trainer(**kw):
    return pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, **kw)


class ValidatedModule(TinyModule):
    def validation_step(self, batch, batch_idx):
        self.log("val_loss", torch.tensor(1.0))  # never improves: the plateau reduces


def test_interval_step_follows_the_schedule():
    s = lk.warmup(3) >> lk.cosine(7, end=0.1)
    module = TinyModule(s)
    trainer(max_steps=10).fit(module, loader())
    assert module.seen_lrs == [BASE_LR * s(t) for t in range(10)]
    sched = trainer_scheduler(module)
    assert sched.last_epoch == 10
    assert module.optimizers().param_groups[0]["lr"] == BASE_LR * s(10)


def test_plateau_with_auto_step_and_reduce_on_plateau():
    """Per-step schedule from the optimizer hook, per-epoch plateau from Lightning's monitor."""
    s = lk.linear(40, end=0.5)
    module = ValidatedModule(s, plateau=lk.Plateau(factor=0.5, patience=0), auto_step=True, monitor="val_loss")
    trainer(max_epochs=3, limit_val_batches=1).fit(module, loader(), loader(8))
    sched = trainer_scheduler(module)
    assert sched.last_epoch == 24  # 3 epochs of 8 batches, counted by the optimizer hook
    # val_loss is 1.0 every epoch: the 1st is the best, the 2nd and 3rd each halve the scale
    assert sched.plateau.scale == 0.25
    assert module.optimizers().param_groups[0]["lr"] == BASE_LR * s(24) * 0.25


def trainer_scheduler(module) -> Scheduler:
    sched = module.lr_schedulers()
    assert isinstance(sched, Scheduler)
    return sched
