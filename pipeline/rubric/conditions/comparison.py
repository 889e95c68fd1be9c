"""Comparison parameters (``gt ge lt le eq``) shared by ``metric`` and ``count``."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, model_validator

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b, "eq": lambda a, b: a == b,
}
_SYMBOLS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "eq": "="}


class Comparison(BaseModel):
    """One or more bounds, all of which must hold."""

    model_config = ConfigDict(extra="forbid")

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    eq: float | None = None

    def comparisons(self) -> list[tuple[str, float]]:
        return [(op, getattr(self, op)) for op in _COMPARISONS if getattr(self, op) is not None]

    def holds(self, value: float) -> bool:
        return all(_COMPARISONS[op](value, bound) for op, bound in self.comparisons())

    def text(self) -> str:
        return " and ".join(f"{_SYMBOLS[op]} {bound:g}" for op, bound in self.comparisons())

    @model_validator(mode="after")
    def _has_comparison(self) -> Comparison:
        if not self.comparisons():
            raise ValueError("needs a comparison: gt, ge, lt, le or eq")
        return self
