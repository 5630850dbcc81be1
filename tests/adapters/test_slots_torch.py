"""The torch-side rows of the "where lrkit plugs in" table (docs/torch.md, docs/keras-jax.md), run for real.

Each test holds the table's lines verbatim (tests/adapters/test_docs_slots.py checks that) and
asserts the lr the framework actually used at every update: a plain loop, a real Lightning
Trainer on CPU, and a real Hugging Face Trainer with a tiny BERT built from a config (no download).
The timm row is tests/adapters/test_timm.py::test_slot_timm_train_py.
"""

from __future__ import annotations

import pytest
import torch

import lrkit as lk
import lrkit.torch

BASE = 0.05


def data(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return torch.utils.data.TensorDataset(x, x.sum(dim=1, keepdim=True))


# ---------------------------------------------------------------- plain loop
def test_slot_plain_torch_loop():
    schedule = lk.warmup(3) >> lk.cosine(13, end=0.1)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=BASE)
    sched = lrkit.torch.Scheduler(opt, schedule)
    used = []
    for _epoch in range(2):
        for xb, yb in torch.utils.data.DataLoader(data(), batch_size=4):
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            used.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    assert used == [BASE * schedule(t) for t in range(16)]


# ------------------------------------------------------------------ Lightning
lightning = pytest.importorskip("lightning.pytorch")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*does not have many workers:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*number of training batches.*:UserWarning"),
]


class LitModel(lightning.LightningModule):
    def __init__(self, schedule):
        super().__init__()
        self.layer, self.schedule, self.used = torch.nn.Linear(4, 1), schedule, []

    def training_step(self, batch, batch_idx):
        self.used.append(self.optimizers().param_groups[0]["lr"])
        return torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=BASE, momentum=0.9)
        schedule = self.schedule
        sched = lrkit.torch.Scheduler(opt, schedule)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def test_slot_lightning():
    schedule = lk.warmup(4) >> lk.cosine(20)
    module = LitModel(schedule)
    trainer = lightning.Trainer(accelerator="cpu", max_epochs=3, logger=False, enable_checkpointing=False,
                                enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, torch.utils.data.DataLoader(data(), batch_size=4))
    assert module.used == [BASE * schedule(t) for t in range(24)]
    assert module.lr_schedulers().last_epoch == 24


# ----------------------------------------------------------------- HF Trainer
transformers = pytest.importorskip("transformers")


class TokenData(torch.utils.data.Dataset):
    def __init__(self, n=48):
        g = torch.Generator().manual_seed(1)
        self.ids = torch.randint(0, 32, (n, 8), generator=g)
        self.labels = (self.ids[:, 0] > 15).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


class UsedLr(transformers.TrainerCallback):
    """The lr of the optimizer when each update starts (HF steps the scheduler after the update)."""

    def __init__(self):
        self.used = []

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        self.used.append(optimizer.param_groups[0]["lr"])


def hf_run(tmp_path, schedule, max_steps, resume_from=None, save_steps=None):
    config = transformers.BertConfig(vocab_size=32, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=16, max_position_embeddings=16, num_labels=2)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), max_steps=max_steps, per_device_train_batch_size=4, use_cpu=True,
        report_to=[], disable_tqdm=True, logging_steps=1, dataloader_num_workers=0,
        save_strategy="steps" if save_steps else "no", save_steps=save_steps or 500)
    opt = torch.optim.AdamW(model.parameters(), lr=BASE)
    used = UsedLr()
    trainer = transformers.Trainer(model=model, args=args, train_dataset=TokenData(),
                                   optimizers=(opt, lrkit.torch.Scheduler(opt, schedule)), callbacks=[used])
    trainer.train(resume_from_checkpoint=resume_from)
    logged = [e["learning_rate"] for e in trainer.state.log_history if "learning_rate" in e]
    return used.used, logged, trainer


def test_slot_hf_trainer(tmp_path):
    schedule = lk.warmup(3) >> lk.cosine(9, end=0.1)
    used, logged, trainer = hf_run(tmp_path, schedule, 12)
    assert used == [BASE * schedule(t) for t in range(12)]
    assert logged == used  # HF logs the lr each update used (get_last_lr before the scheduler steps)
    assert trainer.lr_scheduler.last_epoch == 12


def test_hf_trainer_resumes_from_its_checkpoint(tmp_path):
    """HF saves scheduler.state_dict() in the checkpoint and loads it (torch.load(weights_only=True))."""
    schedule = lk.noisy(lk.warmup(3) >> lk.cosine(9, end=0.1), std=0.2, seed=9)
    full, _, _ = hf_run(tmp_path / "full", schedule, 12)
    first, _, _ = hf_run(tmp_path / "run", schedule, 12, save_steps=5)
    resumed, _, trainer = hf_run(tmp_path / "run", schedule, 12, resume_from=str(tmp_path / "run" / "checkpoint-5"))
    assert first == full
    assert resumed == full[5:]
    assert trainer.lr_scheduler.last_epoch == 12
