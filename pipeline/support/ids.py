"""Call ids: what a valid one is, and the file name a call's output may have.

A call id comes from a manifest, a transcript document or a file name: anyone who can drop a
file in the input folder chooses it. It ends up in file names, URLs, logs and the terminal,
so it is checked once here and every output file name is derived from it, never copied.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from pipeline.errors import UnsafePathError

MAX_CALL_ID = 128
MAX_FILE_STEM = 100
_HASH_CHARS = 16  # 64 bits: two call ids never share an output file
# Latin letters, digits, . _ - and CJK (ideographs, kana, hangul): everything else is replaced.
_UNSAFE_FILE_CHARS = re.compile(
    r"[^A-Za-z0-9._\-\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_LOOKS_HASHED = re.compile(rf"-[0-9a-f]{{{_HASH_CHARS}}}$")


def call_id_problem(value: object) -> str | None:
    """Why ``value`` cannot be a call id, or None when it can."""
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "is empty"
    if len(value) > MAX_CALL_ID:
        return f"is {len(value)} characters long (at most {MAX_CALL_ID})"
    if value in (".", ".."):
        return f"cannot be {value!r}"
    if "/" in value or "\\" in value:
        return "contains a path separator (/ or \\)"
    # Control, format (bidi overrides), surrogate and line-separator characters: they rewrite
    # what a terminal or a log shows.
    if any(unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp")
           for char in value):
        return "contains control or invisible characters"
    return None


def check_call_id(value: object, source: str = "call_id") -> str:
    """``value`` if it is a valid call id; else UnsafePathError naming ``source``."""
    problem = call_id_problem(value)
    if problem is not None:
        raise UnsafePathError(f"{source}: call id {shorten(value)} {problem}")
    assert isinstance(value, str)
    return value


def shorten(value: object, limit: int = 40) -> str:
    """A short printable form of a (possibly hostile) value, for messages."""
    text = repr(value) if not isinstance(value, str) else ascii(value)[1:-1]
    return text if len(text) <= limit else text[:limit] + "…"


def file_stem(call_id: str) -> str:
    """A file name stem for ``call_id``: safe characters only, bounded length, and a hash of
    the full id whenever anything was changed (so distinct ids give distinct names)."""
    stem = _UNSAFE_FILE_CHARS.sub("_", call_id)
    stem = "_" + stem[1:] if stem.startswith(".") else stem  # no hidden files, no . or ..
    changed = stem != call_id or len(stem) > MAX_FILE_STEM or bool(_LOOKS_HASHED.search(stem))
    if not changed:
        return stem
    digest = hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    return f"{stem[:MAX_FILE_STEM]}-{digest}"


def output_path(folder: str | Path, call_id: str, suffix: str = ".json") -> Path:
    """Where a call's output goes inside ``folder``; UnsafePathError if it would leave it."""
    root = Path(folder).resolve()
    target = (root / f"{file_stem(call_id)}{suffix}").resolve()
    if target.parent != root:
        raise UnsafePathError(f"output for call {shorten(call_id)} would be written outside "
                              f"{folder}")
    return target
