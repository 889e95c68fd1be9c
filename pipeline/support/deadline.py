"""A wall-clock budget for one call, checked at the points where the work loops (ASR segments,
classifier batches, rubric items), so an input that would run for hours fails with reason
``timeout`` and the batch goes on. Python cannot stop a thread from outside; cooperative
checks are what makes the budget hold on threads and Dask workers alike."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pipeline.errors import CallTimeoutError

_deadline: ContextVar[tuple[float, float] | None] = ContextVar("callqa_deadline", default=None)


@contextmanager
def call_budget(seconds: float | None) -> Iterator[None]:
    """Within this block, ``check()`` raises once ``seconds`` have passed (None: no budget)."""
    if seconds is None:
        yield
        return
    token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left in the current budget (None: no budget)."""
    current = _deadline.get()
    return None if current is None else current[0] - time.monotonic()


def check(where: str = "") -> None:
    """Raise ``CallTimeoutError`` when the current budget is spent."""
    current = _deadline.get()
    if current is not None and time.monotonic() > current[0]:
        at = f" while {where}" if where else ""
        raise CallTimeoutError(f"the call used its {current[1]:g} s budget{at}")
