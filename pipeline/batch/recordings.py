"""Which recording files may be played back, and proof that a file is the one that was scored.

A manifest row or a folder entry only *names* a file; the store keeps a recording for a call
only once it decoded as audio, with the file's SHA-256 and the recording root it lies in (the
folder the run read, or a configured ``store.audio_roots`` entry), all resolved with symlinks
followed. The review app serves a file only when all of that still holds at request time, so
a row pointing at a system file, a symlink swapped in later or a key file is never sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.audio import file_sha256
from pipeline.errors import AudioError

log = logging.getLogger(__name__)

# What the browser is told each container is; any other suffix is never served.
MEDIA_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
               ".opus": "audio/ogg", ".flac": "audio/flac", ".m4a": "audio/mp4"}


def within(path: Path, root: Path) -> bool:
    """``path`` is ``root`` or below it (both already resolved)."""
    return path == root or root in path.parents


def resolve(path: str | Path) -> Path | None:
    """The real path (symlinks followed) of an existing regular file, else None."""
    real = _real(path)
    return real if real is not None and real.is_file() else None


def verify_audio(path: Path) -> str:
    """The SHA-256 of ``path`` if it opens as audio with PyAV and its first frame decodes."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise AudioError("not_audio", path, "no audio stream")
            next(container.decode(stream), None)
    except AudioError:
        raise
    except Exception as error:  # PyAV raises many kinds; all mean "not audio we can play"
        raise AudioError("not_audio", path, f"does not decode as audio ({error})") from error
    return file_sha256(path)


def recording_fields(audio_path: str | None, document: dict[str, Any],
                     roots: Sequence[Path]) -> dict[str, str]:
    """``audio_path`` / ``audio_sha256`` / ``audio_root`` for the store, or {} when the
    recording cannot be vouched for (missing, not audio, outside every root). The hash comes
    from the transcription when the call was transcribed from this very file, else the file
    is checked here (a call scored from a transcript, with a recording for playback)."""
    if not audio_path:
        return {}
    real = resolve(audio_path)
    if real is None or real.suffix.lower() not in MEDIA_TYPES:
        return {}
    root = next((r for r in (_real(r) for r in roots) if r and within(real, r)), None)
    if root is None:
        log.warning("%s lies outside the recording roots; it will not be played back", real)
        return {}
    decoded = document.get("audio") or {}
    sha = decoded.get("sha256") if resolve(decoded.get("path") or "") == real else None
    if not sha:
        try:
            sha = verify_audio(real)
        except AudioError as error:
            log.warning("recording not kept for playback: %s", error)
            return {}
    return {"audio_path": str(real), "audio_sha256": str(sha), "audio_root": str(root)}


def servable(audio_path: str | None, audio_sha256: str | None, audio_root: str | None,
             configured_roots: Sequence[Path], forbidden: Sequence[Path] = ()
             ) -> tuple[Path, str] | None:
    """(file, media type) when the stored recording may be sent now: it still resolves to a
    regular audio file inside its root (and inside a configured root, when there are any),
    outside every ``forbidden`` folder, with the hash it had when it decoded. Else None."""
    if not (audio_path and audio_sha256 and audio_root):
        return None
    real = resolve(audio_path)
    root = _real(audio_root)
    if real is None or root is None or not within(real, root):
        return None
    media = MEDIA_TYPES.get(real.suffix.lower())
    if media is None:
        return None
    if configured_roots and not any(
            (r := _real(c)) is not None and within(real, r) for c in configured_roots):
        return None
    if any((f := _real(p)) is not None and within(real, f) for p in forbidden):
        return None
    stat = real.stat()
    if _digest(str(real), stat.st_ino, stat.st_size, stat.st_mtime_ns) != audio_sha256:
        return None
    return real, media


def _real(path: str | Path) -> Path | None:
    """The real path (``~`` expanded, symlinks followed) of something that exists, else None."""
    try:
        return Path(path).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        return None


@lru_cache(maxsize=4096)
def _digest(path: str, inode: int, size: int, mtime_ns: int) -> str:
    """The file's hash, once per version of the file (a changed file has a new key)."""
    del inode, size, mtime_ns  # part of the cache key only
    return file_sha256(path)

