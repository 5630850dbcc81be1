"""The files of a job: every finished run in ``OUT/runs/KEY.json``, written as it ends.

Each write goes to a temporary file in the same folder and is moved over the
final name with ``os.replace`` (atomic on POSIX and Windows), so a job killed
at any moment (even by ``SIGKILL``) leaves only whole files: it loses at most
the runs that were in flight. Running the same job again reads these files
and skips every run that is ``done`` or ``pruned``; ``failed`` runs are run again.

A run's key is a hash of everything that decides its result: the training
function (its name and the hash of its source), the schedule, the plateau,
the lr, the seed, the epochs, the steps per epoch and the config. The same
(schedule, lr, seed) in another job with the same settings is the same run.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import re
from typing import Any

from .run import Record

__all__ = ["Store", "dumps", "plain", "run_key", "write_file"]

_FLAT = re.compile(r"\[\s+((?:-?[0-9][0-9.eE+-]*|null|true|false|\"[^\"\n]*\")"
                   r"(?:,\s+(?:-?[0-9][0-9.eE+-]*|null|true|false|\"[^\"\n]*\"))*)\s+\]")


def dumps(doc: Any) -> str:
    """Strict, indented JSON (no NaN: see :func:`plain`), with lists of plain values kept on one line."""
    text = json.dumps(plain(doc), indent=1, allow_nan=False)
    return _FLAT.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",\n")) + "]", text)


def plain(v: Any) -> Any:
    """A strict-JSON copy: non-finite floats become None, numpy scalars Python numbers, tuples lists."""
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if hasattr(v, "item") and not isinstance(v, (int, float)):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return v


def write_file(path: str, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically (a temporary file, then ``os.replace``)."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder or ".", f".{name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def run_key(identity: dict) -> str:
    """The key of a run: the first 20 hex digits of the sha256 of its identity (sorted JSON).

    >>> run_key({"lr": 0.1, "seed": 0}) == run_key({"seed": 0, "lr": 0.1})
    True
    """
    text = json.dumps(plain(identity), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class Store:
    """The finished runs of ``out`` (None: keep nothing on disk)."""

    def __init__(self, out: str | None) -> None:
        self.out = out
        self.runs_dir = None if out is None else os.path.join(out, "runs")
        if self.runs_dir is not None:
            os.makedirs(self.runs_dir, exist_ok=True)
            for tmp in glob.glob(os.path.join(self.runs_dir, ".*.tmp")):  # left by a killed job
                os.remove(tmp)

    def load(self) -> dict[str, Record]:
        """Every readable run record in ``OUT/runs`` by key (unreadable files are ignored)."""
        found: dict[str, Record] = {}
        if self.runs_dir is None:
            return found
        for path in sorted(glob.glob(os.path.join(self.runs_dir, "*.json"))):
            try:
                with open(path, encoding="utf-8") as f:
                    rec = Record.from_dict(json.load(f))
            except (OSError, ValueError, TypeError):
                continue
            if os.path.basename(path) == f"{rec.task.key}.json":
                found[rec.task.key] = rec
        return found

    def save(self, record: Record) -> None:
        """Write ``record`` to ``OUT/runs/KEY.json`` (atomic)."""
        if self.runs_dir is not None:
            text = dumps(record.to_dict())
            write_file(os.path.join(self.runs_dir, f"{record.task.key}.json"), text + "\n")
