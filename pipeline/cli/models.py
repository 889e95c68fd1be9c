"""``callqa classify``, ``train``, ``models`` and ``samples``: the classifiers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pipeline.cli.console import err, fail, load_settings, out
from pipeline.errors import CallqaError

models_app = typer.Typer(help="List, inspect, promote and roll back classifier versions.",
                         no_args_is_help=True)
samples_app = typer.Typer(help="Labelled samples for retraining.", no_args_is_help=True)


def classify(
    input: Annotated[Path, typer.Option("--input", "-i", help="JSONL: {text, speaker} per line")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="JSONL (default stdout)")
                      ] = None,
    version: Annotated[str | None, typer.Option(help="model version (default: champion)")
                       ] = None,
) -> None:
    """Label utterances: each line gets {"labels": {label: probability}} for its speaker."""
    from pipeline.classify import UtteranceClassifier
    from pipeline.models.registry import registry_for

    settings = load_settings()
    registry = registry_for(settings)
    try:
        model = registry.load(version) if version else registry.load_champion("utterance")
    except CallqaError as exc:
        fail(str(exc))
    if model is None:
        fail("no utterance model has been promoted; run `callqa train` first")
    rows, problems = [], []
    try:
        lines = input.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        fail(f"{input}: {exc}")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, speaker = row["text"], row.get("speaker", "customer")
            if not isinstance(text, str) or speaker not in ("agent", "customer"):
                raise ValueError("needs a text string and speaker agent|customer")
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"line {number}: {exc}")
            continue
        rows.append(row)
    classifier = UtteranceClassifier(model, settings.model_dir,
                                     settings.cache_dir / "classify")
    labelled = classifier.classify([r["text"] for r in rows], [r["speaker"] for r in rows])
    sink = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        for row, labels in zip(rows, labelled, strict=True):
            short = {k.split(".", 1)[1]: v for k, v in labels.items()}
            sink.write(json.dumps({**row, "labels": short}, ensure_ascii=False) + "\n")
    finally:
        if output:
            sink.close()
    for problem in problems:
        err.print(f"[yellow]skipped[/] {escape(str(problem))}")
    if problems:
        raise typer.Exit(1)


def train(
    task: Annotated[str, typer.Option(help="utterance or call")] = "utterance",
    from_reviews: Annotated[bool, typer.Option("--from-reviews", help="add review decisions")
                            ] = False,
    import_file: Annotated[Path | None, typer.Option("--import", help="CSV/JSONL samples")
                           ] = None,
    method: Annotated[str | None, typer.Option(help="tfidf, frozen or hybrid")] = None,
    data: Annotated[Path | None, typer.Option(help="public data directory (../shared/data)")
                    ] = None,
    no_promote: Annotated[bool, typer.Option("--no-promote", help="register only")] = False,
) -> None:
    """Train a challenger, compare it with the baseline and the champion, promote by the rule."""
    import pandas as pd

    from pipeline.training.challenger import DEFAULT_DATA, train_challenger
    from pipeline.training.train import comparison_table

    if task not in ("utterance", "call"):
        fail("--task must be utterance or call")
    settings = load_settings()
    imported = None
    if import_file is not None:
        from pipeline.training.samples import training_rows

        imported = training_rows(_read_import(import_file).kept)
    try:
        run = train_challenger(settings, task, method, data or DEFAULT_DATA, from_reviews,
                               imported, promote=not no_promote)
    except (ValueError, CallqaError) as exc:
        fail(str(exc))
    table = Table("label", "val n (pos)", "challenger AUROC/F1", "TF-IDF AUROC/F1",
                  "champion AUROC/F1", "reliable")
    table.columns[0].no_wrap = True
    for row in comparison_table(run.card).itertuples(index=False):
        def cell(a: float | None, f: float | None) -> str:
            return "–" if a is None or pd.isna(a) else f"{a:.3f} / {f:.3f}"
        n = 0 if pd.isna(row.val_n) else int(row.val_n)
        pos = 0 if pd.isna(row.val_pos) else int(row.val_pos)
        table.add_row(row.label, f"{n} ({pos})",
                      cell(row.model_auroc, row.model_f1),
                      cell(row.baseline_auroc, row.baseline_f1),
                      cell(row.champion_auroc, row.champion_f1), "yes" if row.reliable else "no")
    out.print(table)
    out.print(f"trained {run.version} ({run.card['method']}) on "
              f"{run.card['data']['rows']['train']} rows in {run.card['training_seconds']} s")
    verdict = "[green]promoted[/]" if run.decision.promoted and not no_promote else \
        ("[yellow]not promoted[/]" if not no_promote else "registered")
    out.print(f"{verdict}: {escape(run.decision.reason)}")


def _read_import(path: Path):
    from pipeline.training.samples import read_samples

    try:
        result = read_samples(path)
    except CallqaError as exc:
        fail(str(exc))
    for problem in result.problems:
        err.print(f"[yellow]bad row[/] {escape(f'{path}:{problem}')}")
    return result


@samples_app.command("import")
def samples_import(file: Annotated[Path, typer.Argument(help="CSV or JSONL of samples")]) -> None:
    """Validate and keep labelled samples (text, label, value[, speaker, source, group])."""
    from pipeline.store import Store

    result = _read_import(file)
    new = Store.from_settings(load_settings()).add_samples(result.kept, "import")
    out.print(f"kept {len(result.kept)} row(s) ({new} new), rejected {len(result.problems)}")
    if result.problems:
        raise typer.Exit(1)


@models_app.command("list")
def models_list() -> None:
    """Every version, its task, method and mean validation AUROC; * marks champions."""
    from pipeline.models.registry import registry_for

    registry = registry_for(load_settings())
    table = Table("", "version", "task", "method", "labels", "mean AUROC", "baseline", "created")
    for version in registry.versions():
        card = registry.card(version)
        aurocs = [m["model"]["auroc"] for m in card["metrics"].values() if "model" in m]
        base = [m["baseline"]["auroc"] for m in card["metrics"].values() if "baseline" in m]
        star = "*" if registry.champion(card["task"]) == version else ""
        table.add_row(star, version, card["task"], card["method"], str(len(card["labels"])),
                      f"{sum(aurocs) / len(aurocs):.3f}" if aurocs else "–",
                      f"{sum(base) / len(base):.3f}" if base else "–", card["created_at"])
    out.print(table)


@models_app.command("show")
def models_show(version: Annotated[str, typer.Argument()]) -> None:
    """The model card of a version."""
    from pipeline.models.registry import registry_for, render_card

    try:
        out.print(render_card(registry_for(load_settings()).card(version)), markup=False)
    except CallqaError as exc:
        fail(str(exc))


@models_app.command("promote")
def models_promote(version: Annotated[str, typer.Argument()],
                   force: Annotated[bool, typer.Option("--force")] = False) -> None:
    """Make a version its task's champion (refused when worse than the champion)."""
    from pipeline.models.registry import registry_for

    try:
        decision = registry_for(load_settings()).promote(version, force=force)
    except CallqaError as exc:
        fail(str(exc))
    if not decision.promoted:
        fail(f"not promoted: {decision.reason}", code=1)
    out.print(f"[green]promoted[/] {escape(version)}: {escape(decision.reason)}")


@models_app.command("rollback")
def models_rollback(task: Annotated[str, typer.Option(help="utterance or call")] = "utterance"
                    ) -> None:
    """Re-instate the previous champion."""
    from pipeline.models.registry import registry_for

    try:
        version = registry_for(load_settings()).rollback(task)
    except CallqaError as exc:
        fail(str(exc))
    out.print(f"{task} champion is now {version}")
