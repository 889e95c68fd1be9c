"""Train a challenger classifier, register it, and promote it by the registry's rule."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.classify import method_named
from pipeline.config import PROJECT_ROOT, Settings
from pipeline.models.features import features_for, same_features
from pipeline.models.registry import Decision, new_version, registry_for
from pipeline.store import Store
from pipeline.training.datasets import build_all
from pipeline.training.samples import training_rows
from pipeline.training.train import cap_texts, train_model

log = logging.getLogger(__name__)

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data"


@dataclass
class TrainingRun:
    version: str
    card: dict
    decision: Decision
    samples: pd.DataFrame


def gather_samples(settings: Settings, data_dir: Path | None, from_reviews: bool,
                   import_rows: pd.DataFrame | None, task: str) -> pd.DataFrame:
    frames = []
    if data_dir is not None and data_dir.is_dir():
        frames.append(build_all(data_dir, task=task))
    origins = ("import", "review") if from_reviews else ("import",)
    frames.append(training_rows(Store.from_settings(settings).samples(origins)))
    if import_rows is not None and len(import_rows):
        frames.append(import_rows)
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    samples = pd.concat(frames, ignore_index=True)
    samples = samples[samples["task"] == task]
    # A later source (reviews, imports) overrides the public data for the same text and label.
    return samples.drop_duplicates(["text", "label"], keep="last").reset_index(drop=True)


def train_challenger(settings: Settings, task: str, method: str | None = None,
                     data_dir: Path | None = DEFAULT_DATA, from_reviews: bool = False,
                     import_rows: pd.DataFrame | None = None, promote: bool = True,
                     base: str | None = None) -> TrainingRun:
    """Train, register, compare with the champion and promote by the registry's rule."""
    config = settings.classify
    method = method or config.method
    spec = method_named(method)  # an unknown name fails before any data is read
    samples = gather_samples(settings, data_dir, from_reviews, import_rows, task)
    if samples.empty:
        raise ValueError("no training samples: no public data found and no imported samples")
    samples = cap_texts(samples, config.max_texts)
    encoder = None
    if spec.uses_dense:
        encoder = features_for(base or config.base, config.layer, config.max_length,
                               settings.model_dir, settings.cache_dir / "classify" / "features")
    registry = registry_for(settings)
    champion = registry.load_champion(task)
    if (champion is not None and encoder is not None
            and same_features(champion.encoder_spec or {}, encoder)):
        champion.attach_encoder(encoder)  # its features are the challenger's: computed once
    version = new_version(task, registry.versions())
    result = train_model(samples, task, method, version, encoder, champion=champion,
                         model_dir=settings.model_dir)
    registry.add(result.model, result.card)
    decision = registry.promote(version) if promote else registry.decide(version)
    return TrainingRun(version, result.card, decision, samples)


