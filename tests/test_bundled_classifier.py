"""The bundled champion (models/registry) with the real Gemma-3 base: accuracy floors on held-out
dialogues, and the demo scoring with it. Slow: the base is dequantised once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES, ROOT, SHARED_DATA

from pipeline.config import Settings
from pipeline.training.heads import metrics_for

pytestmark = pytest.mark.slow
REGISTRY = ROOT / "models" / "registry"

# Validation AUROC measured for the bundled champion (its CARD.md), minus a margin for the
# subsample used here. A real regression (wrong features, wrong layer, broken heads) falls far
# below these; the TF-IDF baseline's own figures are in the card.
FLOORS = {
    "customer.complaint": 0.93,
    "customer.abuse": 0.87,
    "customer.dissatisfaction": 0.74,
    "customer.satisfied": 0.90,
    "agent.offer_solution": 0.85,
    "customer.threat_escalation": 0.93,
}


@pytest.fixture(scope="module")
def bundled(model_home: Path) -> Settings:
    from pipeline.models.registry import registry_for

    settings = Settings(home=model_home, classify={"registry": REGISTRY})
    if registry_for(settings).champion("utterance") is None:
        pytest.skip("no bundled utterance champion in models/registry")
    return settings


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} not found")
def test_champion_accuracy_floors_on_validation_dialogues(bundled: Settings) -> None:
    from pipeline.models.registry import registry_for
    from pipeline.training.datasets import build_all

    model = registry_for(bundled).load_champion("utterance")
    samples = build_all(SHARED_DATA, task="utterance")
    validation = samples[(samples.split == "validation") & samples.label.isin(FLOORS)]
    picked = pd.concat([rows.sample(min(len(rows), 250), random_state=5)
                        for _, rows in validation.groupby("label")])
    texts = list(dict.fromkeys(picked.text))
    probabilities = model.predict(texts, bundled.model_dir)
    where = {t: i for i, t in enumerate(texts)}
    for label, floor in FLOORS.items():
        rows = picked[picked.label == label]
        p = probabilities[[where[t] for t in rows.text], model.labels.index(label)]
        auroc = metrics_for(rows.value.to_numpy(), p)["auroc"]
        assert auroc >= floor, f"{label}: AUROC {auroc:.3f} < floor {floor}"
    assert np.isfinite(probabilities).all()


def test_demo_call_scored_with_the_champion(bundled: Settings, tmp_path: Path) -> None:
    from pipeline.batch.manifest import CallJob
    from pipeline.batch.scorer import Scorer

    settings = Settings(home=bundled.home, classify={"registry": REGISTRY})
    call = EXAMPLES / "calls" / "zh-malicious-complaint.json"
    card = Scorer(settings).score(CallJob("zh-malicious-complaint", call))
    assert card.inspection["model_versions"]["classifier"].startswith("utterance-")
    assert card.inspection["risk_level"] == "high"
    # The classifier hears the complaint, so the three-step item applies (pass or fail, not na).
    three_step = next(j for j in card.judgements if j.item.id == "three-step-confirmation")
    assert three_step.outcome in ("pass", "fail")
