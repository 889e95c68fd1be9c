"""Atomic file writes (a crash leaves either the old file or the new one, never half of one)
and files and folders made with the mode they must have from the first moment."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb",
                file_mode: int | None = None) -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path``; move it into place only on success. The
    file is owner-only (0600) unless ``file_mode`` says otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    if file_mode is not None:
        os.chmod(tmp, file_mode)
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, value: Any) -> None:
    with atomic_open(path, "w") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def ensure_dir(path: str | Path, mode: int = 0o700) -> Path:
    """``path`` as a folder; one made here gets ``mode`` (an existing one is left as the
    operator set it)."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)  # mkdir's own mode is cut by the umask
    return path


def touch_private(path: str | Path, mode: int = 0o600) -> Path:
    """Create ``path`` empty with ``mode`` unless it exists: for files another library then
    opens (SQLite), which would otherwise follow the umask."""
    path = Path(path)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    return path


def read_bounded(path: str | Path, limit: int, what: str, setting: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else InputLimitError naming
    ``what`` it is and the ``setting`` that sets the limit (checked before reading, and while
    reading in case the file grows). A FIFO or a device would block or never end: OSError."""
    from pipeline.errors import InputLimitError

    path = Path(path)
    if not path.is_file():
        raise OSError(errno.EINVAL, f"{what} is not a regular file", str(path))
    size = path.stat().st_size
    if size > limit:
        raise InputLimitError(f"{path}: {what} is {size} bytes (limit {limit}; {setting})")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputLimitError(f"{path}: {what} is over {limit} bytes ({setting})")
    return data
