"""Charts for the dashboard and the daily report: PNG images as data URIs, so a page or a
report file carries its pictures inside it (no external files, nothing fetched)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager
from matplotlib.ticker import MaxNLocator

from pipeline.reports.analytics import DaySummary

# Team names and items may be Chinese: use a CJK font when the machine has one.
_CJK = [f.name for f in font_manager.fontManager.ttflist
        if any(key in f.name for key in ("Noto Sans CJK", "WenQuanYi", "Droid Sans Fallback"))]
plt.rcParams["font.sans-serif"] = [*_CJK[:1], "DejaVu Sans"]
plt.rcParams["axes.unicode_minus"] = False


def _uri(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def trend_chart(data: DaySummary) -> str | None:
    if data.trend.empty:
        return None
    figure, axis = plt.subplots(figsize=(7.5, 3.2))
    days = sorted(data.trend["day"].unique())
    position = {day: n for n, day in enumerate(days)}
    for team, group in data.trend.groupby("team"):
        group = group.sort_values("day")
        axis.plot([position[d] for d in group["day"]], group["score"], marker="o",
                  label=str(team))
    axis.set_xticks(range(len(days)), [d.strftime("%m-%d") for d in days])
    axis.set_xlim(-0.5, len(days) - 0.5)
    axis.set_ylim(0, 100)
    axis.set_ylabel("mean QA score")
    axis.set_title("QA score by day and team")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower left")
    return _uri(figure)


def heat_chart(data: DaySummary) -> str | None:
    """Team × rubric item failure rate; the day's top-3 problem items are boxed."""
    if data.heat.empty:
        return None
    rates = data.heat.to_numpy(dtype=float)
    teams, items = list(data.heat.index), list(data.heat.columns)
    figure, axis = plt.subplots(figsize=(max(6.0, 0.75 * len(items) + 2),
                                         max(2.2, 0.55 * len(teams) + 1.4)))
    image = axis.imshow(np.ma.masked_invalid(rates), cmap="Reds", vmin=0, vmax=1,
                        aspect="auto")
    axis.set_xticks(range(len(items)), items, rotation=40, ha="right", fontsize=8)
    axis.set_yticks(range(len(teams)), teams, fontsize=8)
    counts = data.heat_n.to_numpy(dtype=float)
    for row in range(len(teams)):
        for column in range(len(items)):
            if not np.isnan(rates[row, column]):
                axis.text(column, row, f"{rates[row, column]:.0%}\nn={int(counts[row, column])}",
                          ha="center", va="center", fontsize=7,
                          color="white" if rates[row, column] > 0.55 else "black")
    top = {entry["item_id"] for entry in data.top3}
    for column, item in enumerate(items):
        if item in top:
            axis.add_patch(plt.Rectangle((column - 0.5, -0.5), 1, len(teams), fill=False,
                                         edgecolor="#1f4e99", linewidth=2.5))
    axis.set_title(f"Failure rate by team and item, {data.day} (boxed: top 3)")
    figure.colorbar(image, ax=axis, fraction=0.03, label="failure rate")
    return _uri(figure)


def risk_chart(data: DaySummary) -> str | None:
    if not any(data.risk.values()):
        return None
    figure, axis = plt.subplots(figsize=(4, 2.4))
    levels = ["low", "medium", "high"]
    values = [data.risk.get(level, 0) for level in levels]
    bars = axis.bar(levels, values, color=["#7fb77e", "#f0b44c", "#d9534f"])
    axis.bar_label(bars)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_title("Malicious-complaint risk")
    axis.set_ylabel("calls")
    return _uri(figure)


def agreement_chart(data: DaySummary) -> str | None:
    rows = [r for r in data.agreement if r["kappa"] is not None]
    if not rows:
        return None
    figure, axis = plt.subplots(figsize=(6, 0.35 * len(rows) + 1.2))
    names = [f"{r['item_id']} (n={r['n']})" for r in rows]
    kappas = [r["kappa"] for r in rows]
    colours = ["#d9534f" if k < 0.4 else "#f0b44c" if k < 0.6 else "#5b9bd5" for k in kappas]
    axis.barh(names, kappas, color=colours)
    axis.axvline(0.6, color="grey", linestyle="--", linewidth=1)
    axis.set_xlim(min(-0.2, *kappas), 1)
    axis.set_xlabel("Cohen's kappa, AI vs reviewers (dashed: 0.6)")
    axis.tick_params(axis="y", labelsize=8)
    return _uri(figure)


CHARTS: dict[str, Callable[[DaySummary], str | None]] = {
    "trend": trend_chart, "heat": heat_chart, "risk": risk_chart, "agreement": agreement_chart}
_RENDERED: OrderedDict[str, str | None] = OrderedDict()  # drawn data's hash → image
_KEEP = 128
_LOCK = threading.Lock()  # pyplot's figures are global state: one drawing at a time


def _drawn(name: str, data: DaySummary) -> str:
    """Everything the chart ``name`` draws, as text: equal text, equal picture."""
    parts: list[Any] = {
        "trend": [data.trend.to_json(date_format="iso")],
        "heat": [data.day, data.heat.to_json(), data.heat_n.to_json(), data.top3],
        "risk": [data.risk],
        "agreement": [data.agreement],
    }[name]
    return name + json.dumps(parts, default=str, sort_keys=True)


def render_all(data: DaySummary) -> dict[str, str | None]:
    """Every chart; one drawn before from the same data is reused (a dashboard is opened far
    more often than its numbers change, and drawing takes most of its time)."""
    images = {}
    for name, chart in CHARTS.items():
        key = hashlib.sha256(_drawn(name, data).encode()).hexdigest()
        with _LOCK:
            if key not in _RENDERED:
                _RENDERED[key] = chart(data)
                if len(_RENDERED) > _KEEP:
                    _RENDERED.popitem(last=False)
            _RENDERED.move_to_end(key)
            images[name] = _RENDERED[key]
    return images
