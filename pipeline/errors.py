"""Typed errors: every failure a caller should handle has its own class and a clear message."""

from __future__ import annotations


class CallqaError(Exception):
    """Base class of all errors callqa raises on purpose."""


class ReasonedError(CallqaError):
    """An error whose ``reason`` is one of the class's stable machine-readable ``REASONS``:
    a code that is not one is a bug at the raising site, caught there."""

    REASONS: tuple[str, ...] = ()

    def __init__(self, reason: str, message: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown {type(self).__name__} reason {reason!r}")
        self.reason = reason
        super().__init__(message)


class ConfigError(CallqaError):
    """The settings or a configuration file are invalid."""


class ModelNotFoundError(CallqaError):
    """A model name or path cannot be resolved to loadable weights."""


class ModelIntegrityError(CallqaError):
    """Model files exist but do not match their expected size or hash."""


class RoleModelError(ReasonedError, ModelIntegrityError):
    """The bundled role model (``speakers.roles``) is damaged."""

    REASONS = ("size_mismatch", "checksum_mismatch", "bad_format")

    def __init__(self, reason: str, path: object, message: str) -> None:
        self.path = str(path)
        super().__init__(reason, f"{path}: {message}")


class AudioError(ReasonedError):
    """A recording cannot be used. ``reason`` is a stable machine-readable code."""

    REASONS = (
        "missing",
        "empty",
        "not_audio",
        "corrupt",
        "zero_length",
        "silent",
        "too_long",
        "layout_mismatch",
    )

    def __init__(self, reason: str, path: object, message: str) -> None:
        self.path = str(path)
        super().__init__(reason, f"{path}: {message}")


class TranscriptError(CallqaError):
    """A transcript JSON file does not follow the contract."""


class InputLimitError(CallqaError):
    """An input is larger than the configured limits (``[limits]``): too many turns or
    characters, a file too big. ``reason`` is ``too_long``."""

    reason = "too_long"


class CallTimeoutError(CallqaError):
    """A call used up its wall-clock budget (``limits.call_timeout_s``); the batch goes on.
    ``reason`` is ``timeout``."""

    reason = "timeout"


class UnsafePathError(CallqaError):
    """A path (from a call id, a manifest row or a URL) would lead outside where it belongs."""

    reason = "unsafe_path"


class DiarizationError(ReasonedError):
    """Speaker turns cannot be found on a mono recording. ``reason`` is a stable code:
    ``unavailable`` (the diarize extra is not installed), ``bad_audio`` (samples are not
    16 kHz mono float32 in [-1, 1]) or ``backend`` (the diarization model failed)."""

    REASONS = ("unavailable", "bad_audio", "backend")


class EncoderError(ReasonedError):
    """The sentence encoder cannot embed. ``reason``: ``unavailable`` (its package is not
    installed), ``damaged`` (the weights are not the measured file) or ``backend`` (the engine
    failed)."""

    REASONS = ("unavailable", "damaged", "backend")
