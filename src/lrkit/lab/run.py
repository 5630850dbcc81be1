"""One training run of a comparison: what the user's ``train(run)`` receives, and what it leaves.

- :class:`Task`: the plain, picklable description of a run (schedule text,
  base lr, seed, epochs, config): what an engine ships to a worker.
- :class:`Run`: what ``train`` receives: ``run.schedule`` (bound to the run),
  ``run.lr``, ``run.seed``, ``run.epochs``, ``run.config``, ``run.plateau``,
  ``run.report(epoch=..., val=..., **more)`` and ``run.fingerprint(...)``.
- :class:`Record`: what a finished run leaves in ``OUT/runs/``: its status
  (``done``, ``failed``, ``pruned``), every report, the returned test metrics,
  the fingerprints and, for a failure, the message.
- :func:`execute`: runs ``train`` on a task and always returns a record
  (an exception inside ``train`` becomes a ``failed`` record).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import numbers
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TypeGuard

from ..checks import fail, integer
from ..errors import SpecError

__all__ = ["Pruned", "Record", "Run", "RunTimeout", "Task", "deadline", "execute", "fingerprint", "seeded"]

STATUSES = ("done", "failed", "pruned")


class RunTimeout(Exception):
    """Raised inside a run that passed ``run_timeout`` seconds: the run is failed with this message."""


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`RunTimeout` in this (main) thread after ``seconds`` (None: no limit); restores the
    previous SIGALRM handler and timer after."""
    import signal
    import threading

    if seconds is None or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise RunTimeout(f"the run passed run_timeout={seconds:g} s and was stopped")

    before = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)


class Pruned(Exception):
    """Raised by :meth:`Run.report` when the lab has stopped this (schedule, lr): let it propagate.

    ``--prune clearly-worse`` stops every seed of a (schedule, lr) together;
    the run is recorded as ``pruned`` with what it reported so far.
    """


@dataclass(frozen=True)
class Task:
    """Everything that decides one run (plain data: it is pickled to workers)."""

    key: str
    name: str
    schedule: str
    plateau: dict | None
    lr: float
    seed: int
    epochs: int
    config: dict
    steps_per_epoch: int | None = None
    group: str = ""
    phase: str = "final"
    pool: str = ""  # the (phase, schedule, plateau) of the group: pruning compares the lrs of one pool
    code: str = ""  # the hash of the training code and its declared version (lrkit.lab.identity)


@dataclass
class Record:
    """What one finished run left: written to ``OUT/runs/KEY.json`` as it ends.

    ``task`` is the run it records (``rec.task.name``, ``.lr``, ``.seed``, ...);
    ``history`` holds every ``run.report`` as a dict (``epoch``, ``val``, and
    the extra numbers); ``result`` what ``train`` returned (``{"test": ...}``
    and any other numbers); ``fingerprints`` the hashes ``run.fingerprint``
    recorded (``init``, ``batches``). The file is one flat JSON object: the
    task's fields, then the record's own.
    """

    task: Task
    status: str
    history: list[dict] = field(default_factory=list)
    result: dict = field(default_factory=dict)
    fingerprints: dict = field(default_factory=dict)
    error: str | None = None
    wall_time: float = 0.0
    attempts: int = 1
    used_schedule: bool = True  # train read run.schedule or called run.bind (False: it never looked at it)
    bound_steps: int | None = None  # the steps per epoch its schedule was bound to (given to compare or run.bind)

    @property
    def vals(self) -> list[float]:
        """The ``val`` of every report, in order (``nan`` for a missing or non-finite one)."""
        return [_float(h.get("val")) for h in self.history]

    @property
    def test(self) -> float:
        """The test metric ``train`` returned (``nan`` when there is none)."""
        return _float(self.result.get("test"))

    def to_dict(self) -> dict:
        own = asdict(self)
        return {**own.pop("task"), **own}

    @classmethod
    def from_dict(cls, d: dict) -> Record:
        """Inverse of :meth:`to_dict` (unknown keys are ignored; a missing task field is a TypeError)."""
        task = Task(**{k: v for k, v in d.items() if k in Task.__dataclass_fields__})
        rec = cls(task, **{k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k != "task"})
        if rec.status not in STATUSES:
            raise ValueError(f"unknown status {rec.status!r}")
        return rec


def _is_number(v: Any) -> TypeGuard[numbers.Real]:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _float(v: Any) -> float:
    return float(v) if _is_number(v) else math.nan


def _scalar(v: Any) -> Any:
    """A reported or returned extra value: a number as a float; a string, True/False or None as it is."""
    if _is_number(v):
        return float(v)
    if isinstance(v, (str, bool)) or v is None:
        return v
    raise TypeError(type(v).__name__)


# -------------------------------------------------------------- fingerprints
def _feed(h, obj: Any) -> None:
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            _feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(f"[{len(obj)}".encode())
        for x in obj:
            _feed(h, x)
    elif hasattr(obj, "detach") and hasattr(obj, "cpu"):  # a torch tensor
        _feed(h, obj.detach().cpu().contiguous().numpy())
    elif hasattr(obj, "tobytes") and hasattr(obj, "dtype"):  # a numpy array or scalar
        import numpy as np

        a = np.ascontiguousarray(obj)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif isinstance(obj, (bytes, bytearray)):
        h.update(bytes(obj))
    else:
        h.update(repr(obj).encode())


def fingerprint(obj: Any) -> str:
    """A short hash (16 hex digits) of weights, tensors, arrays, index lists or plain values.

    A module or optimizer is hashed through its ``state_dict()``; tensors and
    arrays by dtype, shape and bytes. Equal inputs give equal fingerprints on
    every machine.

    >>> import numpy as np
    >>> fingerprint(np.arange(3)) == fingerprint(np.arange(3)), len(fingerprint([1, 2]))
    (True, 16)
    """
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------- Run
class Run:
    """What ``train(run)`` receives: one (schedule, lr, seed) of a comparison.

    Attributes:
        schedule: the schedule bound to the run (``"10%"``, ``"rest"``, ``"3ep"``
            resolved); needs the steps per epoch: given to ``compare`` or set
            with :meth:`bind`. A noise schedule draws noise seeded by ``seed``.
        lr: the base lr of this run (the schedule multiplies it).
        seed: seeds the model's initial weights and the batch order.
        epochs: the number of epochs to train; report once per epoch.
        config: the job's settings for ``train`` (a dict; ``compare(config=...)``).
        plateau: a fresh ``lk.Plateau`` when the schedule has one (feed it the
            validation loss: ``scheduler.step(val_loss)``), else None.
        name: the schedule's name in the comparison; ``phase``: ``"tune"`` or ``"final"``.

    Example::

        def train(run):
            model = make_model(seed=run.seed)
            opt = torch.optim.SGD(model.parameters(), lr=run.lr)
            sched = lrkit.torch.Scheduler(opt, run.bind(len(loader)), plateau=run.plateau)
            for epoch in range(run.epochs):
                ...                       # opt.step(); sched.step() after every batch
                run.report(epoch=epoch, val=accuracy(model, val_loader))
            return accuracy(model, test_loader)
    """

    def __init__(self, task: Task, channel: Any = None) -> None:
        self.task = task
        self.lr, self.seed, self.epochs = task.lr, task.seed, task.epochs
        self.config = dict(task.config)
        self.name, self.phase = task.name, task.phase
        self.steps_per_epoch = task.steps_per_epoch
        self.history: list[dict] = []
        self.fingerprints: dict[str, str] = {}
        self._channel = channel
        self._stopped = False
        self._schedule = None
        self.used_schedule = False
        self.plateau = None
        if task.plateau is not None:
            from ..plateau import Plateau

            self.plateau = Plateau(**task.plateau)

    # ------------------------------------------------------------ schedule
    def _unbound(self):
        return seeded(self.task.schedule, self.seed)

    def bind(self, steps_per_epoch: int) -> Any:
        """Bind the schedule to ``epochs * steps_per_epoch`` steps; return it (also ``run.schedule``).

        Call it when ``compare`` was not told the steps per epoch, e.g.
        ``run.bind(len(train_loader))``.
        """
        spe = integer("Run.bind", "steps_per_epoch", steps_per_epoch, ge=1)
        self.used_schedule = True
        self.steps_per_epoch = spe
        self._schedule = self._unbound().bind(total_steps=self.epochs * spe, steps_per_epoch=spe)
        return self._schedule

    @property
    def total_steps(self) -> int | None:
        """``epochs * steps_per_epoch`` (None while the steps per epoch are unknown)."""
        return None if self.steps_per_epoch is None else self.epochs * self.steps_per_epoch

    @property
    def schedule(self) -> Any:
        """The schedule bound to this run (see the class doc)."""
        self.used_schedule = True
        if self._schedule is None:
            if self.steps_per_epoch is not None:
                return self.bind(self.steps_per_epoch)
            s = self._unbound()
            try:
                self._schedule = s.bind()
            except SpecError:
                raise SpecError(f"Run.schedule: {self.task.schedule} uses run-relative durations ('%', 'rest' "
                                "or 'ep'): call run.bind(steps_per_epoch) first (e.g. run.bind(len(train_loader))),"
                                " or pass steps_per_epoch to compare()") from None
        return self._schedule

    # -------------------------------------------------------------- report
    @property
    def stopped(self) -> bool:
        """True once the lab has pruned this run's (schedule, lr) (``report`` then raises :class:`Pruned`)."""
        return self._stopped

    def report(self, epoch: int | None = None, *, val: float, **more: Any) -> None:
        """Record the validation metric ``val`` after an epoch (and any other numbers).

        ``val`` chooses the lr, drives pruning and the under-training flag:
        higher is better unless the comparison has ``mode="min"``. ``epoch``
        (any whole numbers, increasing; default: the count of reports so far)
        labels the report. Raises :class:`Pruned` when the lab stops this run.
        """
        n = len(self.history)
        epoch = n if epoch is None else integer("Run.report", "epoch", epoch)
        if n and epoch <= self.history[-1]["epoch"]:
            raise fail("Run.report", "epoch", f"greater than the last reported epoch ({self.history[-1]['epoch']})",
                       epoch)
        if not _is_number(val):
            raise fail("Run.report", "val", "a number (the validation metric)", val)
        entry: dict[str, Any] = {"epoch": epoch, "val": float(val)}
        for k, v in more.items():
            try:
                entry[k] = _scalar(v)
            except TypeError:
                raise fail("Run.report", k, "a number, a string, True/False or None", v) from None
        self.history.append(entry)
        if self._channel is not None and self._channel.report(self.task, n, entry):
            self._stopped = True
        if self._stopped:
            raise Pruned(f"{self.name} at lr {self.lr:g} was pruned after {n + 1} reports")

    def fingerprint(self, **things: Any) -> dict[str, str]:
        """Record a hash of each named thing: ``run.fingerprint(init=model, batches=order)``.

        Every final run of one seed should show the same ``init`` and
        ``batches`` fingerprints; the report checks that they do.
        """
        for name, obj in things.items():
            self.fingerprints[name] = fingerprint(obj)
        return dict(self.fingerprints)

    def __repr__(self) -> str:
        return f"Run({self.name!r}, lr={self.lr:g}, seed={self.seed}, epochs={self.epochs}, phase={self.phase!r})"


def seeded(schedule: str, seed: int) -> Any:
    """The schedule a run of ``seed`` gets: every ``noisy`` draws its noise from ``its seed + seed``.

    >>> str(seeded("noisy(cosine(10), 0.3)", 4)), str(seeded("cosine(10)", 4))
    ('noisy(cosine(10), 0.3, seed=4)', 'cosine(10)')
    """
    from ..spec import from_dict, parse

    return from_dict(_reseed(parse(schedule).to_dict(), seed))


def _reseed(d: Any, seed: int) -> Any:
    """The dict form of a schedule with every noise draw seeded by ``its seed + seed``."""
    if isinstance(d, dict):
        out = {k: _reseed(v, seed) for k, v in d.items()}
        if d.get("type") == "noisy":
            out["seed"] = int(d.get("seed", 0)) + int(seed)
        return out
    if isinstance(d, list):
        return [_reseed(x, seed) for x in d]
    return d


# ------------------------------------------------------------------- execute
def outcome(run: Run, value: Any, started: float, error: BaseException | None = None) -> Record:
    """The record of ``run`` after ``train`` returned ``value`` (or raised ``error``)."""
    rec = Record(run.task, "done", list(run.history), {}, dict(run.fingerprints),
                 wall_time=time.perf_counter() - started, used_schedule=run.used_schedule,
                 bound_steps=run.steps_per_epoch)
    if isinstance(error, Pruned) or (error is None and run.stopped):
        rec.status = "pruned"
    elif error is not None:
        rec.status, rec.error = "failed", _message(error)
    elif not run.history:
        rec.status, rec.error = "failed", "train() returned without calling run.report(val=...)"
    else:
        try:
            rec.result = _result(value)
        except SpecError as e:
            rec.status, rec.error = "failed", str(e)
    return rec


def _result(value: Any) -> dict:
    test = value.get("test") if isinstance(value, dict) else value
    if not _is_number(test):
        raise fail("train", "return value", "the test metric: a number, or a dict with it under 'test'", value)
    out: dict[str, Any] = {"test": float(test)}
    if isinstance(value, dict):
        for k, v in value.items():
            with contextlib.suppress(TypeError):  # other values (arrays, models) are not kept
                out[str(k)] = _scalar(v)
    return out


def _message(e: BaseException) -> str:
    """``Type: message (file:line in function)`` of the innermost frame."""
    tb = traceback.extract_tb(e.__traceback__)
    where = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
    if isinstance(e, SystemExit):
        return f"SystemExit: train called sys.exit({e.code!r}){where}"[:500]
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}{where}"[:500]


def execute(train: Callable[[Run], Any], task: Task, channel: Any = None, timeout: float | None = None) -> Record:
    """Run ``train(Run(task))``; return its :class:`Record`.

    An exception raised by ``train``, ``SystemExit`` included (``sys.exit()`` in the user's code), is that
    run's failure: the record says so and the job goes on; so is a run that passes ``timeout`` seconds
    (:func:`deadline`, in the process's main thread). Only ``KeyboardInterrupt`` (Ctrl-C) propagates: it
    stops the job.
    """
    run = Run(task, channel)
    started = time.perf_counter()
    if channel is not None and channel.stopped(task):  # its (schedule, lr) was pruned before it started
        return outcome(run, None, started, Pruned("pruned before it started"))
    try:
        with deadline(timeout):
            value = train(run)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - the run's failure is its record, the job goes on
        return outcome(run, None, started, e)
    return outcome(run, value, started)
