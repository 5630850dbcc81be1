"""``lm-decay``: on the language model, linear decay to zero ends lower than cosine decay to 10%.

Bergsma et al. (2025, "Straight to zero: why linearly decaying the learning
rate to zero works best for LLMs") find that a linear decay to zero beats the
customary cosine decay to 10% of the peak. Here: the ``pycode`` character
transformer (:mod:`.lm_runs`), AdamW, ``warmup('5%') >> linear('rest')``
against ``warmup('5%') >> cosine('rest', end=0.1)``, each at its own lr tuned
on validation seeds.

Claim (per final seed, test bits per character, paired): linear-to-zero ends
lower than cosine-to-10% (by any margin). Region: both arms at each peak lr of the grid.
"""

from __future__ import annotations

import sys

from .lm_runs import arms_total, setting, two_schedules

NAME = "lm-decay"
QUESTION = "On a language model, does linear decay to zero end lower than cosine decay to 10% of the peak?"
CLAIM = ("warmup then linear decay to zero ends with lower test bits per character than warmup then cosine decay "
         "to 10% of the peak, each at its own tuned lr")
ARMS = {"linear to 0": "warmup('5%') >> linear('rest')", "cosine to 10%": "warmup('5%') >> cosine('rest', end=0.1)"}
MARGIN = 0.0   # "ends lower": any margin


def progress_total(seeds: int, quick: bool) -> int:
    return arms_total(setting(quick), len(ARMS), seeds)


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Tune, run every seed, check (module doc). Returns ``(result, figure)``."""
    return two_schedules(sys.modules[__name__], seeds, quick, progress)
