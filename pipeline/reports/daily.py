"""The daily report: the dashboard for one day as one self-contained HTML file (styles and
chart images inside it), for e-mail or the shared drive. ``callqa report`` and the nightly
flow write it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import true

from pipeline.config import Settings, centre_timezone
from pipeline.reports import analytics, charts
from pipeline.reports.format import FILTERS
from pipeline.store import Store
from pipeline.support.fsutil import atomic_open, ensure_dir

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"  # the report, and the dashboard body the review app shares


def render_report(store: Store, settings: Settings, day: date | None) -> tuple[str, date | None]:
    """(HTML, the day it covers): ``day``, or the latest day with calls."""
    with store.session() as session:
        data = analytics.day_summary(session, true(), day, centre_timezone(settings))
    environment = Environment(loader=FileSystemLoader(TEMPLATES),
                              autoescape=select_autoescape(["html"]))
    environment.filters.update(FILTERS)
    html = environment.get_template("report.html").render(
        data=data, images=charts.render_all(data), css=(HERE / "static" / "app.css").read_text(),
        scope="all teams", generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    return html, data.day


def write_report(store: Store, settings: Settings, day: date | None, out_dir: Path) -> Path:
    """The report as ``out_dir/callqa-report-DAY.html``: it names agents and customers, so it
    is owner-only unless ``file_mode`` is set to share it."""
    html, covered = render_report(store, settings, day)
    ensure_dir(out_dir, settings.dir_mode)
    path = out_dir / f"callqa-report-{covered or 'empty'}.html"
    with atomic_open(path, "w", file_mode=settings.file_mode) as handle:
        handle.write(html)
    return path
