"""The ``callqa`` command line: one Typer app, one module per command group.

This package is the only part of ``pipeline`` that may import ``flows`` and ``review`` (an
import-linter contract); every command imports what it needs when it runs, so ``callqa
--help`` loads no model, no pandas and no Prefect.
"""

from __future__ import annotations

import typer

from pipeline.cli import calls, models, ops, review, rubrics
from pipeline.cli.console import out

app = typer.Typer(
    name="callqa",
    help="Offline AI quality inspection for customer-service calls.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Offline AI quality inspection for customer-service calls."""


@app.command()
def version() -> None:
    """Print the callqa version."""
    from pipeline import __version__

    out.print(__version__)


for command in (calls.transcribe, calls.score, models.classify, models.train, ops.run,
                ops.export, ops.retrain, ops.serve, review.review, review.report):
    app.command()(command)
app.add_typer(rubrics.rubric_app, name="rubric")
app.add_typer(models.models_app, name="models")
app.add_typer(models.samples_app, name="samples")
app.add_typer(review.users_app, name="users")


def main() -> None:  # pragma: no cover - console entry point
    app()
