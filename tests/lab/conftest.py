"""Fixtures of the lab's tests (helpers live in lab_helpers.py)."""

from __future__ import annotations

import pytest
from lab_helpers import USER_TRAIN


@pytest.fixture
def user_train(tmp_path):
    """The path of a file holding USER_TRAIN (``--train PATH:train``)."""
    path = tmp_path / "my_training.py"
    path.write_text(USER_TRAIN)
    return str(path)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The lab's models are tiny: one thread is several times faster than two on a busy machine
    (what ``lrkit compare`` does too). Restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
