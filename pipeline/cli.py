"""The ``callqa`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline import transcript as transcript_doc
from pipeline.config import get_settings
from pipeline.errors import CallqaError
from pipeline.fsutil import write_json
from pipeline.ids import output_path
from pipeline.manifest import CallJob
from pipeline.transcript import shown

app = typer.Typer(
    name="callqa",
    help="Offline AI quality inspection for customer-service calls.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

LANGUAGE_HELP = "zh, en, id, vi, th, ms, or auto (detect among the configured languages)"
LAYOUT_HELP = "stereo_agent_left, stereo_agent_right or mono"
SPEAKER_STYLE = {"agent": ("坐席 agent", "cyan"), "customer": ("客户 customer", "yellow"),
                 "unknown": ("? unknown", "white")}


@app.callback()
def _root() -> None:
    """Offline AI quality inspection for customer-service calls."""


@app.command()
def version() -> None:
    """Print the callqa version."""
    from pipeline import __version__

    out.print(__version__)


@app.command()
def transcribe(
    audio: Annotated[list[Path] | None, typer.Argument(help="Recordings to transcribe.")] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="Manifest CSV: per-call path, layout, language, queue.")
    ] = None,
    language: Annotated[str | None, typer.Option(help=LANGUAGE_HELP)] = None,
    layout: Annotated[str | None, typer.Option(help=LAYOUT_HELP)] = None,
    model: Annotated[str | None, typer.Option(help="base, tiny.en, or a model directory")] = None,
    queue: Annotated[str | None, typer.Option(help="Queue whose vocabulary to use.")] = None,
    json_out: Annotated[
        str | None,
        typer.Option("--json", help="Write transcript JSON: a directory, a .json file for one "
                     "input, or - for stdout (one JSON object per line)."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="Do not print the readable transcripts.")] = False,
) -> None:
    """Transcribe call recordings into speaker-labelled, timed transcripts."""
    from pipeline.asr import TranscribeOptions, Transcriber

    jobs, failures = _collect_jobs(audio, manifest, "transcribe")
    jobs = [job for job in jobs if not job.is_transcript]  # chat logs: nothing to transcribe
    settings = get_settings()
    with _usage_errors():
        transcriber = Transcriber(settings, model=model)
        options = {
            job.call_id: TranscribeOptions.from_settings(
                settings, queue=job.queue or queue,
                language=language or job.language, layout=layout or job.layout)
            for job in jobs
        }
        for option in options.values():
            option.validate()
    shown = err if json_out == "-" else out

    def work(job: CallJob) -> None:
        result = transcriber.transcribe_file(job.source, job.call_id, options[job.call_id])
        document = transcript_doc.from_transcription(result)
        if json_out:
            _emit(document, job.call_id, json_out, single=len(jobs) == 1)
        if not quiet:
            _print_transcript(shown, document, result.elapsed_s, result.cached)

    _finish(failures + _run(jobs, "transcribing", work))


@app.command()
def score(
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="Recordings (transcribed first) or transcript JSON files.")] = None,
    manifest: Annotated[Path | None, typer.Option(
        help="Manifest CSV: per-call source, layout, language, rating and NPS.")] = None,
    rubric: Annotated[str | None, typer.Option(
        help="Rubric name (ecommerce-zh, ecommerce-en) or YAML path; default by language.")
    ] = None,
    language: Annotated[str | None, typer.Option(help=LANGUAGE_HELP)] = None,
    layout: Annotated[str | None, typer.Option(help=LAYOUT_HELP)] = None,
    model: Annotated[str | None, typer.Option(help="ASR model for recordings.")] = None,
    json_out: Annotated[str | None, typer.Option(
        "--json", help="Write the inspection with its item results: a directory, a .json file "
        "for one input, or - for stdout.")] = None,
    quiet: Annotated[bool, typer.Option(help="Do not print the scorecards.")] = False,
) -> None:
    """Score calls against a QA rubric: a scorecard with evidence and times per item."""
    from pipeline import scorecard

    jobs, failures = _collect_jobs(inputs, manifest, "score")
    with _usage_errors():
        scorer = scorecard.Scorer(get_settings(), rubric=rubric, model=model,
                                  language=language, layout=layout)
    shown = err if json_out == "-" else out

    def work(job: CallJob) -> None:
        card = scorer.score(job)
        if json_out:
            _emit(scorecard.to_json(card), job.call_id, json_out, single=len(jobs) == 1)
        if not quiet:
            scorecard.print_scorecard(shown, card)

    _finish(failures + _run(jobs, "scoring", work))


# -- shared by the commands that work call by call -------------------------------------------


def _collect_jobs(paths: list[Path] | None, manifest: Path | None, verb: str
                  ) -> tuple[list[CallJob], list[str]]:
    """Jobs from the arguments and the manifest; bad manifest rows (and files whose name is
    no call id) are reported, not fatal."""
    jobs: list[CallJob] = []
    failures: list[str] = []
    for path in paths or []:
        try:
            jobs.append(CallJob.for_path(path))
        except CallqaError as exc:
            failures.append(str(exc))
            err.print(f"[red]skipped:[/] {shown(failures[-1])}")
    if manifest is not None:
        from pipeline.manifest import read_manifest

        with _usage_errors():
            read = read_manifest(manifest)
        for problem in read.problems:
            failures.append(f"{manifest}: {problem}")
            err.print(f"[red]skipped:[/] {shown(failures[-1])}")
        jobs.extend(read.jobs())
    if not jobs and not failures:
        err.print(f"[red]nothing to {verb}:[/] give input files or --manifest")
        raise typer.Exit(2)
    return jobs, failures


@contextmanager
def _usage_errors() -> Iterator[None]:
    """A configuration or usage problem stops the command with exit code 2."""
    try:
        yield
    except CallqaError as exc:
        err.print(f"[red]error:[/] {shown(exc)}")
        raise typer.Exit(2) from exc


def _run(jobs: list[CallJob], label: str, work: Callable[[CallJob], None]) -> list[str]:
    """Do ``work`` on every job with a progress bar; a failing call never stops the others,
    not even with an unexpected error (reported as ``internal error``, without a traceback)."""
    failures: list[str] = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=len(jobs) < 2,
    ) as progress:
        task = progress.add_task(label, total=len(jobs))
        for job in jobs:
            progress.update(task, description=f"{label} {shown(job.source.name)}")
            try:
                work(job)
            except CallqaError as exc:
                failures.append(_failed(job, str(exc)))
            except Exception as exc:  # one bad input must not stop the batch
                detail = str(exc)
                detail = detail if len(detail) <= 300 else detail[:300] + "…"  # e.g. a dataframe
                failures.append(_failed(job, f"internal error: {type(exc).__name__}: {detail}"))
            progress.advance(task)
    return failures


def _failed(job: CallJob, message: str) -> str:
    """Report a failed input on stderr; the message, prefixed with the input unless it names it."""
    failure = message if str(job.source) in message else f"{job.source}: {message}"
    err.print(f"[red]failed:[/] {shown(failure)}")
    return failure


def _finish(failures: list[str]) -> None:
    if failures:
        err.print(f"[red]{len(failures)} input(s) failed[/]")
        raise typer.Exit(1)


def _emit(document: dict[str, Any], call_id: str, target: str, single: bool) -> None:
    """Write one result: to stdout as a JSON line, to a .json file, or into a directory (under
    a file name derived from the call id, never outside the directory)."""
    if target == "-":
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    path = Path(target)
    if not (single and path.suffix == ".json"):
        path = output_path(path, call_id)
    write_json(path, document)


def _print_transcript(console: Console, document: dict[str, Any], elapsed: float,
                      cached: bool) -> None:
    audio = document["audio"]
    probability = document["asr"]["language_probability"]
    detected = f" (detected, p={probability:.2f})" if probability is not None else ""
    source = "cache" if cached else f"{elapsed:.1f} s"
    console.print(
        f"\n[bold]{shown(document['call_id'])}[/]  {audio['duration_s']:.1f} s · "
        f"{audio['layout']} · language {shown(document['language'])}{detected} · model "
        f"{shown(document['asr']['model'])} · {source}"
    )
    if not document["turns"]:
        console.print("  [dim](no speech recognised)[/]")
    for turn in document["turns"]:
        label, colour = SPEAKER_STYLE[turn["speaker"]]
        start, end = (transcript_doc.format_time(turn[key]) for key in ("start", "end"))
        span = f"{start}–{end}"
        console.print(f"  [dim]{span}[/]  [{colour}]{label:<12}[/] {shown(turn['text'])}")


# -- rubric ------------------------------------------------------------------------------------

rubric_app = typer.Typer(help="Check and backtest QA rubrics.", no_args_is_help=True)
app.add_typer(rubric_app, name="rubric")


@rubric_app.command("check")
def rubric_check(file: Annotated[str, typer.Argument(help="Rubric YAML or bundled name.")]
                 ) -> None:
    """Validate a rubric and print its items."""
    from rich.table import Table

    from pipeline import rubric as rubric_mod

    try:
        loaded = rubric_mod.load(file, max_bytes=get_settings().limits.max_rubric_bytes)
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
    from pipeline.backtest import backtest

    try:
        limit = get_settings().limits.max_rubric_bytes
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


from pipeline import cli_models  # noqa: E402 - registered after the core commands

app.command()(cli_models.classify)
app.command()(cli_models.train)
app.add_typer(cli_models.models_app, name="models")
app.add_typer(cli_models.samples_app, name="samples")

from pipeline import cli_ops, cli_review  # noqa: E402

app.command()(cli_ops.run)
app.command()(cli_ops.export)
app.command()(cli_ops.retrain)
app.command()(cli_ops.serve)
app.command()(cli_review.review)
app.command()(cli_review.report)
app.add_typer(cli_review.users_app, name="users")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
