"""Errors raised by lrkit.

Every error a user can cause is raised where the user made it, and its message
names the callable, the parameter, the rule and the value::

    cosine(): steps must be > 0; got steps=-5
"""

from __future__ import annotations

__all__ = ["MissingDependencyError", "SpecError", "UnboundError"]


class SpecError(ValueError):
    """An invalid schedule, argument or text spec (a ``ValueError``)."""


class UnboundError(SpecError):
    """A schedule with run-relative durations (``"5ep"``, ``"10%"``, ``"rest"``)
    was evaluated before ``bind()`` turned them into steps."""


class MissingDependencyError(ImportError):
    """An optional framework (torch, keras, jax, matplotlib, ...) is not installed."""

    def __init__(self, package: str, extra: str):
        super().__init__(
            f"this feature needs {package}, which is not installed; "
            f"install it with: pip install 'lrkit[{extra}]'"
        )
        self.package = package
        self.extra = extra
