"""``lm-cooldown``: on the language model, a WSD cooldown shaped ``1-sqrt`` ends lower than a linear one.

Hagele et al. (2024, "Scaling laws and compute-optimal training beyond fixed
training durations") find that warmup-stable-decay with a cooldown of shape
``1 - sqrt(x)`` ends lower than the same cooldown decaying linearly. Here: the
``pycode`` character transformer (:mod:`.lm_runs`), AdamW, ``wsd('100%', '5%',
'20%')`` with ``shape='1-sqrt'`` against ``shape='linear'`` (5% warmup, the last
20% of the run decays to 0), each at its own lr tuned on validation seeds.

Claim (per final seed, test bits per character, paired): the ``1-sqrt`` run
ends lower than the linear one (by any margin). Region: the same comparison
with both arms at each peak lr of the grid.
"""

from __future__ import annotations

import sys

from .lm_runs import arms_total, setting, two_schedules

NAME = "lm-cooldown"
QUESTION = ("On a language model, does a WSD cooldown shaped 1-sqrt end lower than a linear cooldown of the "
            "same length?")
CLAIM = ("wsd with a 1-sqrt cooldown (last 20%) ends with lower test bits per character than the same wsd with a "
         "linear cooldown, each at its own tuned lr")
ARMS = {"1-sqrt": "wsd('100%', '5%', '20%', shape='1-sqrt')", "linear": "wsd('100%', '5%', '20%')"}
MARGIN = 0.0   # "ends lower": any margin


def progress_total(seeds: int, quick: bool) -> int:
    return arms_total(setting(quick), len(ARMS), seeds)


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Tune, run every seed, check (module doc). Returns ``(result, figure)``."""
    return two_schedules(sys.modules[__name__], seeds, quick, progress)
