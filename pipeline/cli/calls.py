"""``callqa transcribe`` and ``callqa score``: call by call, a failing input never stops the
others."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.cli.console import err, load_settings, out, usage_errors
from pipeline.cli.textsafe import format_time, shown
from pipeline.errors import CallqaError
from pipeline.support.fsutil import write_json
from pipeline.support.ids import output_path

if TYPE_CHECKING:
    from pipeline.batch.manifest import CallJob

LANGUAGE_HELP = "zh, en, id, vi, th, ms, or auto (detect among the configured languages)"
LAYOUT_HELP = "stereo_agent_left, stereo_agent_right or mono"
SPEAKER_STYLE = {"agent": ("坐席 agent", "cyan"), "customer": ("客户 customer", "yellow"),
                 "unknown": ("? unknown", "white")}


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
    from pipeline.transcript import from_transcription

    jobs, failures = _collect_jobs(audio, manifest, "transcribe")
    jobs = [job for job in jobs if not job.is_transcript]  # chat logs: nothing to transcribe
    settings = load_settings()
    with usage_errors():
        transcriber = Transcriber(settings, model=model)
        options = {
            job.call_id: TranscribeOptions.from_settings(
                settings, queue=job.queue or queue,
                language=language or job.language, layout=layout or job.layout)
            for job in jobs
        }
        for option in options.values():
            option.validate()
    console = err if json_out == "-" else out

    def work(job: CallJob) -> None:
        result = transcriber.transcribe_file(job.source, job.call_id, options[job.call_id])
        document = from_transcription(result, settings.speakers)
        if json_out:
            _emit(document, job.call_id, json_out, single=len(jobs) == 1)
        if not quiet:
            _print_transcript(console, document, result.elapsed_s, result.cached)

    _finish(failures + _run(jobs, "transcribing", work))


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
    from pipeline.batch.scorer import Scorer
    from pipeline.cli.scorecard import print_scorecard

    jobs, failures = _collect_jobs(inputs, manifest, "score")
    with usage_errors():
        scorer = Scorer(load_settings(), rubric=rubric, model=model,
                                  language=language, layout=layout)
    console = err if json_out == "-" else out

    def work(job: CallJob) -> None:
        card = scorer.score(job)
        if json_out:
            _emit(card.as_json(), job.call_id, json_out, single=len(jobs) == 1)
        if not quiet:
            print_scorecard(console, card)

    _finish(failures + _run(jobs, "scoring", work))


# -- shared by the commands that work call by call -------------------------------------------


def _collect_jobs(paths: list[Path] | None, manifest: Path | None, verb: str
                  ) -> tuple[list[CallJob], list[str]]:
    """Jobs from the arguments and the manifest; bad manifest rows (and files whose name is
    no call id) are reported, not fatal."""
    from pipeline.batch.manifest import CallJob

    jobs: list[CallJob] = []
    failures: list[str] = []
    for path in paths or []:
        try:
            jobs.append(CallJob.for_path(path))
        except CallqaError as exc:
            failures.append(str(exc))
            err.print(f"[red]skipped:[/] {shown(failures[-1])}")
    if manifest is not None:
        from pipeline.batch.manifest import read_manifest

        with usage_errors():
            read = read_manifest(manifest)
        for problem in read.problems:
            failures.append(f"{manifest}: {problem}")
            err.print(f"[red]skipped:[/] {shown(failures[-1])}")
        jobs.extend(read.jobs())
    if not jobs and not failures:
        err.print(f"[red]nothing to {verb}:[/] give input files or --manifest")
        raise typer.Exit(2)
    return jobs, failures


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
    from pipeline.cli.scorecard import roles_line

    roles = roles_line(document.get("roles") or {})
    if roles:
        console.print(f"  {shown(roles)}")
    if not document["turns"]:
        console.print("  [dim](no speech recognised)[/]")
    for turn in document["turns"]:
        label, colour = SPEAKER_STYLE[turn["speaker"]]
        start, end = (format_time(turn[key]) for key in ("start", "end"))
        span = f"{start}–{end}"
        console.print(f"  [dim]{span}[/]  [{colour}]{label:<12}[/] {shown(turn['text'])}")


