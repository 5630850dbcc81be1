"""Shared checks of the lab's tests: a report page is self-contained, a PNG is a real PNG."""

from __future__ import annotations

import base64
import io
import re

import pytest


def assert_png(data: bytes) -> None:
    """A PNG that an independent decoder (Pillow) reads, with a real size."""
    from PIL import Image

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.format == "PNG"
        assert img.size[0] > 100 and img.size[1] > 100


def assert_self_contained(page: str, n_images: int) -> None:
    """No external resource (http(s) src/href, scripts, stylesheets); images are PNG data URIs."""
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<script" not in page.lower() and "<link" not in page.lower() and "@import" not in page
    srcs = re.findall(r"""<img[^>]*\ssrc=["']([^"']+)["']""", page)
    assert len(srcs) == n_images
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert_png(base64.b64decode(src.split(",", 1)[1], validate=True))


@pytest.fixture
def html_checks():
    return assert_self_contained, assert_png


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The lab's models are tiny: one thread is several times faster than two on a busy machine
    (what ``lrkit compare`` does too). Restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
