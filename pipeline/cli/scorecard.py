"""The scorecard on the terminal; everything that comes from the call or the rubric is escaped."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from pipeline.cli.textsafe import format_time, shown
from pipeline.scoring import Scorecard

OUTCOME_STYLE = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "na": "[dim]n/a[/]"}


def _time(value: float | None) -> str:
    return "" if value is None else format_time(value)


def roles_line(roles: dict[str, Any]) -> str | None:
    """How the speakers were told apart, when the channel layout alone did not say it."""
    plain = (roles.get("status", "known") == "known" and not roles.get("swapped")
             and roles.get("source") != "diarization")
    if plain:
        return None
    sure = "" if roles.get("confidence") is None else f", confidence {roles['confidence']:.2f}"
    swapped = ", channels swapped" if roles.get("swapped") else ""
    return f"speaker roles: {roles.get('status')} ({roles.get('source')}{sure}{swapped})"


def _print_speakers(console: Console, card: Scorecard) -> None:
    facts = card.recording
    line = roles_line({"status": facts.roles or "known", "source": facts.role_source,
                       "confidence": facts.role_confidence, "swapped": facts.channels_swapped})
    if line is None:
        return
    console.print(f"  {shown(line)}")
    for reason in facts.role_evidence[:3]:
        console.print(f"    · {shown(reason)}")


def print_scorecard(console: Console, card: Scorecard) -> None:
    """The scorecard as text; everything that comes from the call or the rubric is escaped."""
    inspection = card.inspection
    score = inspection["score"]
    verdict = ("[red]FATAL[/]" if inspection["fatal"] else
               "[yellow]not assessable[/] (speaker roles not known)" if score is None else
               f"[bold]{score:g}[/]/100")
    composite = inspection["composite"]
    console.print(
        f"\n[bold]{shown(inspection['call_id'])}[/]  QA {verdict} · composite "
        f"{'—' if composite is None else f'{composite:g}'} ({inspection['composite_basis']}) · "
        f"rubric {shown(inspection['rubric_id'])} v{inspection['rubric_version']} "
        f"({inspection['rubric_hash']})"
    )
    if inspection["flags"]:
        console.print(f"  flags: [yellow]{shown(', '.join(inspection['flags']))}[/]")
    _print_speakers(console, card)
    if card.outcome is not None:
        outcome = card.outcome
        reason = (f" · contact reason: “{shown(outcome.contact_reason)}”"
                  if outcome.contact_reason else "")
        category = (f" · {outcome.category.replace('_', ' ')} "
                    f"({outcome.category_probability:.0%})" if outcome.category else "")
        console.print(f"  outcome: [bold]{outcome.resolution.replace('_', ' ')}[/] · customer "
                      f"dissatisfied {outcome.dissatisfied_probability:.0%}{category}{reason}")
    risk_colour = {"low": "green", "medium": "yellow", "high": "red"}[inspection["risk_level"]]
    console.print(f"  malicious-complaint risk: [{risk_colour}]{inspection['risk_level']}[/] "
                  f"({inspection['risk_score']:.2f})")
    for reason in card.risk.reasons:
        if not reason.evidence:  # customer history: nothing said in this call
            console.print(f"    · {shown(reason.description)}")
            continue
        first = reason.evidence[0]
        when = f"{_time(first.start)} " if first.start is not None else ""
        console.print(f"    · {when}#{first.idx} {shown(first.why)}")
    for finding in inspection["compliance"]:
        first = finding["evidence"][0]
        when = f"{_time(first['start'])} " if first["start"] is not None else ""
        console.print(f"  [red]compliance: {finding['category']}[/] {when}#{first['idx']} "
                      f"{shown(first['why'])}")
    table = Table("item", "outcome", "points", "evidence", show_lines=False, expand=False)
    table.columns[0].no_wrap = True
    for row in card.items.itertuples(index=False):
        found = [e for e in row.evidence if not e.get("applies")][:2]
        applied = [e for e in row.evidence if e.get("applies")][:1]
        lines = []
        for e in found + applied:
            when = f"{_time(e['start'])} " if e["start"] is not None else ""
            turn = f"#{e['idx']} " if e["idx"] is not None else ""
            because = "[dim]applies:[/] " if e.get("applies") else ""
            lines.append(f"{because}{when}{turn}{shown(e['why'])}")
        if not lines:
            lines.append(f"[dim]{shown(row.note)}[/]")
        fatal = " [red](fatal)[/]" if row.fatal else ""
        table.add_row(shown(row.item_id), OUTCOME_STYLE[row.outcome] + fatal,
                      f"{row.points:g}/{row.max_points:g}", "\n".join(lines))
    console.print(table)
