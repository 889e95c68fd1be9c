"""Typed errors: every failure a caller should handle has its own class and a clear message."""

from __future__ import annotations


class CallqaError(Exception):
    """Base class of all errors callqa raises on purpose."""


class ConfigError(CallqaError):
    """The settings or a configuration file are invalid."""


class ModelNotFoundError(CallqaError):
    """A model name or path cannot be resolved to loadable weights."""


class ModelIntegrityError(CallqaError):
    """Model files exist but do not match their expected size or hash."""


class AudioError(CallqaError):
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
        if reason not in self.REASONS:
            raise ValueError(f"unknown audio error reason {reason!r}")
        self.reason = reason
        self.path = str(path)
        super().__init__(f"{path}: {message}")


class TranscriptError(CallqaError):
    """A transcript JSON file does not follow the contract."""
