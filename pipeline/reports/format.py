"""Template filters shared by the app's pages and the report."""

from __future__ import annotations

import math
from datetime import datetime


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "–"


def num(value: float | None, digits: int = 1) -> str:
    """A number, or a dash for none (missing, undefined, NaN: an empty day has no mean)."""
    if not isinstance(value, int | float) or math.isnan(value):
        return "–"
    return f"{value:.{digits}f}"


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


FILTERS = {"when": when, "num": num, "clock": clock}
