"""The console pair every command prints through, and the one way a command stops."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from pipeline.errors import CallqaError

if TYPE_CHECKING:
    from pipeline.config import Settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def load_settings(fresh: bool = False) -> Settings:
    """The one Settings object, read when a command runs: ``--help`` must not pay for
    pydantic-settings. ``fresh`` re-reads it after a command changed the environment."""
    from pipeline.config import get_settings

    if fresh:
        get_settings.cache_clear()
    return get_settings()


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` (escaped: messages carry file names and user text) and exit
    with ``code`` (2: usage or configuration, 1: the work failed)."""
    err.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def day_option(value: str | None) -> date | None:
    """A ``--date``-style option as a day (None when not given); a usage error if it is none."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"not a date (YYYY-MM-DD): {value!r}")


@contextmanager
def usage_errors() -> Iterator[None]:
    """A configuration or usage problem stops the command with exit code 2."""
    try:
        yield
    except CallqaError as exc:
        fail(str(exc))
