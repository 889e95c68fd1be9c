"""Text from calls and rubrics, made safe and short to show on a terminal."""

from __future__ import annotations

import re

from rich.markup import escape

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: object) -> str:
    """User-derived text made safe to print through Rich: markup escaped, and terminal control
    characters (ANSI escapes, bidi overrides) replaced, so the text is shown as written."""
    return escape(_CONTROL.sub("\ufffd", str(text)))


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return "  --:--.-"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:04.1f}"
