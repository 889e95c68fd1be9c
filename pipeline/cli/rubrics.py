"""``callqa rubric check`` and ``callqa rubric test``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.console import err, load_settings, out
from pipeline.cli.textsafe import shown
from pipeline.errors import CallqaError

rubric_app = typer.Typer(help="Check and backtest QA rubrics.", no_args_is_help=True)


@rubric_app.command("check")
def rubric_check(file: Annotated[str, typer.Argument(help="Rubric YAML or bundled name.")]
                 ) -> None:
    """Validate a rubric and print its items."""
    from rich.table import Table

    from pipeline import rubric as rubric_mod

    try:
        loaded = rubric_mod.load(file, max_bytes=load_settings().limits.max_rubric_bytes)
    except CallqaError as exc:
        err.print(f"[red]invalid:[/] {shown(exc)}")
        raise typer.Exit(1) from exc
    out.print(f"[bold]{shown(loaded.id)}[/] v{loaded.version} · {shown(loaded.language)} · hash "
              f"{loaded.content_hash} · {len(loaded.items)} items · {loaded.max_points:g} points")
    table = Table("item", "section", "points", "fatal", "rule", "description")
    table.columns[0].no_wrap = True
    for item in loaded.items:
        rule = ("applies if " + item.applies_if.key + "; " if item.applies_if else "") + (
            f"pass if {item.pass_if.key}" if item.pass_if else f"fail if {item.fail_if.key}")
        table.add_row(shown(item.id), shown(item.section), f"{item.points:g}",
                      "yes" if item.fatal else "", rule, shown(item.description))
    out.print(table)


@rubric_app.command("test")
def rubric_test(
    file: Annotated[str, typer.Argument(help="Rubric YAML or bundled name.")],
    cases: Annotated[Path, typer.Option(help="Directory of transcript JSON cases with "
                                        "expected outcomes.")],
) -> None:
    """Backtest a rubric: per-item precision/recall and the disagreeing cases."""
    from rich.table import Table

    from pipeline import rubric as rubric_mod
    from pipeline.training.backtest import backtest

    try:
        limit = load_settings().limits.max_rubric_bytes
        report = backtest(rubric_mod.load(file, max_bytes=limit), cases)
    except CallqaError as exc:
        err.print(f"[red]error:[/] {shown(exc)}")
        raise typer.Exit(2) from exc

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.0f}%"

    table = Table("item", "cases", "agreement", "fail precision", "fail recall",
                  title=f"{shown(report.rubric_id)}: {report.cases} cases")
    for stats in report.items.values():
        if stats.cases:
            table.add_row(shown(stats.item_id), str(stats.cases), pct(stats.agreement),
                          pct(stats.precision), pct(stats.recall))
    out.print(table)
    for d in report.disagreements:
        out.print(f"[yellow]disagree[/] {shown(d.case)} · {shown(d.item_id)}: expected "
                  f"{shown(d.expected)}, rubric says {d.actual} — {shown(d.note)}")
    if not report.disagreements:
        out.print("[green]all expected outcomes agree[/]")


