"""Accounts: add, list, assign teams, disable (the ``callqa users`` commands)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from pipeline.errors import CallqaError
from pipeline.store import Store, Team, User, UserTeam
from review.auth import ROLES, find_user, hash_password

MIN_PASSWORD = 10


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    agent_id: str | None
    teams: list[str]
    active: bool


def add_user(store: Store, username: str, password: str, role: str,
             teams: list[str] | None = None, agent_id: str | None = None) -> None:
    if role not in ROLES:
        raise CallqaError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise CallqaError(f"passwords need at least {MIN_PASSWORD} characters")
    if role == "agent" and not agent_id:
        raise CallqaError("an agent account needs --agent-id (the agent_id of their calls)")
    with store.session() as session:
        if find_user(session, username) is not None:
            raise CallqaError(f"user {username!r} exists")
        user = User(username=username, password_hash=hash_password(password), role=role,
                    agent_id=agent_id, active=True, session_version=0)
        session.add(user)
        session.flush()
        _assign(session, user, teams or [])
    store.audit("cli", "user_add", username, {"role": role, "teams": teams or []})


def set_teams(store: Store, username: str, teams: list[str]) -> None:
    with store.session() as session:
        user = _existing(session, username)
        _assign(session, user, teams)
    store.audit("cli", "user_set_teams", username, {"teams": teams})


def set_active(store: Store, username: str, active: bool) -> None:
    with store.session() as session:
        user = _existing(session, username)
        user.active = active
        user.session_version += 1  # either way, sessions from before are over
    store.audit("cli", "user_enable" if active else "user_disable", username)


def set_password(store: Store, username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise CallqaError(f"passwords need at least {MIN_PASSWORD} characters")
    with store.session() as session:
        user = _existing(session, username)
        user.password_hash = hash_password(password)
        user.session_version += 1  # a stolen cookie dies with the old password
    store.audit("cli", "user_password", username)


def accounts(store: Store) -> list[Account]:
    with store.session() as session:
        return [Account(u.username, u.role, u.agent_id, sorted(t.team for t in u.teams),
                        u.active)
                for u in session.scalars(select(User).order_by(User.username))]


def _existing(session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise CallqaError(f"no user {username!r}")
    return user


def _assign(session, user: User, teams: list[str]) -> None:
    for name in teams:
        if session.get(Team, name) is None:
            session.add(Team(name=name))
    session.flush()
    user.teams = [UserTeam(user_id=user.id, team=name) for name in dict.fromkeys(teams)]
