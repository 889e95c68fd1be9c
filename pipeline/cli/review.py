"""CLI commands for people: the review app, its accounts, and the daily report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.console import day_option, fail, load_settings, out
from pipeline.errors import CallqaError

users_app = typer.Typer(help="Review-app accounts: qa_admin, supervisor, agent.",
                        no_args_is_help=True)


def _store():
    from pipeline.store import Store

    settings = load_settings()
    return Store.from_settings(settings)


def review(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Start the supervisors' review app (default http://127.0.0.1:8000)."""
    import uvicorn

    from pipeline.store import display_url
    from review.app import create_app

    settings = load_settings()
    host = host or settings.review.host
    port = port or settings.review.port
    out.print(f"callqa review on http://{host}:{port}  (store: {display_url(settings.store_url)})")
    store = _store()
    store.optimize()  # planner statistics, in case no nightly run has refreshed them yet
    uvicorn.run(create_app(settings, store, host=host), host=host, port=port,
                log_level="warning", proxy_headers=False)


def report(
    day: Annotated[str | None, typer.Option("--date", help="the day, YYYY-MM-DD (default: the "
                                                          "latest day with calls)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder (default: "
                                                              "<home>/reports)")] = None,
) -> None:
    """Write the daily report: one self-contained HTML file with its charts."""
    from pipeline.reports.daily import write_report

    settings = load_settings()
    wanted = day_option(day)
    path = write_report(_store(), settings, wanted, out_dir or settings.home / "reports")
    out.print(f"report → {path}")


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="qa_admin, supervisor or agent")],
    teams: Annotated[str, typer.Option(help="comma-separated teams (supervisors)")] = "",
    agent_id: Annotated[str | None, typer.Option(help="agent_id of their calls (agents)")
                        ] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)] = "",
) -> None:
    """Add an account (the password is asked for unless given)."""
    from review.users import add_user

    try:
        add_user(_store(), username, password, role, _split(teams), agent_id)
    except CallqaError as error:
        fail(str(error))
    out.print(f"added {username} ({role})")


@users_app.command("list")
def users_list() -> None:
    """Every account, its role, teams and state."""
    from review.users import accounts

    table = Table("user", "role", "teams", "agent id", "active")
    for account in accounts(_store()):
        table.add_row(account.username, account.role, ", ".join(account.teams),
                      account.agent_id or "", "yes" if account.active else "no")
    out.print(table)


@users_app.command("set-teams")
def users_set_teams(username: str,
                    teams: Annotated[str, typer.Argument(help="comma-separated teams")]) -> None:
    """Replace the teams a supervisor reviews."""
    from review.users import set_teams

    try:
        set_teams(_store(), username, _split(teams))
    except CallqaError as error:
        fail(str(error))
    out.print(f"{username}: {', '.join(_split(teams)) or 'no teams'}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable an account (its sessions stop working at once)."""
    _set_active(username, False)


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled account again."""
    _set_active(username, True)


@users_app.command("password")
def users_password(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)] = "",
) -> None:
    """Set a new password."""
    from review.users import set_password

    try:
        set_password(_store(), username, password)
    except CallqaError as error:
        fail(str(error))
    out.print(f"password changed for {username}")


def _set_active(username: str, active: bool) -> None:
    from review.users import set_active

    try:
        set_active(_store(), username, active)
    except CallqaError as error:
        fail(str(error))
    out.print(f"{username}: {'enabled' if active else 'disabled'}")


def _split(teams: str) -> list[str]:
    return [t.strip() for t in teams.split(",") if t.strip()]
