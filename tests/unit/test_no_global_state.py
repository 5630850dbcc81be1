"""Nothing in lrkit keeps process-wide state: a forked child works after the parent used
lrkit, and plotting never switches the caller's matplotlib backend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lrkit as lk

pytestmark = pytest.mark.slow


def _run(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_values_in_a_forked_child_after_the_parent_used_them():
    """Large values() calls spread over threads; a child forked afterwards must not hang on them."""
    out = _run("""
        import os, signal, sys
        import numpy as np, lrkit as lk
        s = lk.warmup(1000) >> lk.cosine(1_000_000)
        ts = np.arange(300_000, dtype=float)
        parent = s.values(ts)                      # several chunks: the thread pool runs
        pid = os.fork()
        if pid == 0:                               # the child: the same call, then exit 0 if equal
            signal.alarm(60)
            child = s.values(ts)
            os._exit(0 if (child == parent).all() and s(5.0) == parent[5] else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0", f"child exit {out.stdout.strip()} (-{signal.SIGALRM} = hung)"


def test_multiprocessing_fork_workers_evaluate_schedules():
    out = _run("""
        import multiprocessing as mp
        import numpy as np, lrkit as lk
        s = lk.restarts(lk.cosine(1000), period_mult=2)
        s.values(np.arange(200_000, dtype=float))
        with mp.get_context("fork").Pool(2) as pool:
            got = pool.map(s, [0.0, 500.0, 1000.0, 2500.0])
        print(got == [s(t) for t in (0.0, 500.0, 1000.0, 2500.0)])
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_plotting_leaves_the_callers_backend_alone(tmp_path):
    out = _run(f"""
        import matplotlib
        matplotlib.use("svg")                      # the caller's choice (a notebook's, a GUI's)
        import lrkit as lk
        from lrkit.plot import plot_schedules
        plot_schedules([lk.cosine(100), lk.warmup(10) >> lk.cosine(90)], 100, {str(tmp_path / "s.png")!r})
        import matplotlib.pyplot as plt
        print(matplotlib.get_backend(), len(plt.get_fignums()))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["svg", "0"]
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_values_threads_end_with_the_call():
    import threading

    before = {t.name for t in threading.enumerate()}
    lk.cosine(10**6).values(np.arange(400_000, dtype=float))
    after = {t.name for t in threading.enumerate()}
    assert not {n for n in after - before if n.startswith("lrkit")}
