"""Who may see what: password hashes, the signed-in viewer, CSRF tokens, login rate limits,
and the calls each role may open."""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from pipeline.store import Call, User

ROLES = ("qa_admin", "supervisor", "agent")
_hasher = PasswordHasher()  # argon2id, the library's memory-hard defaults
# Verified against when the user does not exist, so a wrong name costs as long as a wrong
# password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the pages need them."""

    id: int
    username: str
    role: str
    agent_id: str | None
    teams: frozenset[str]

    @property
    def reviews(self) -> bool:
        """May see the queue, decide on calls and resolve appeals."""
        return self.role in ("qa_admin", "supervisor")

    def call_scope(self) -> ColumnElement[bool]:
        """The calls this viewer may open, as a condition on ``Call``."""
        if self.role == "qa_admin":
            return true()
        if self.role == "supervisor":
            return Call.team.in_(sorted(self.teams)) if self.teams else false()
        return Call.agent_id == self.agent_id if self.agent_id else false()


def load_viewer(session: Session, user_id: Any) -> Viewer | None:
    """The active user behind a session's user id, with their teams."""
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return Viewer(user.id, user.username, user.role, user.agent_id,
                  frozenset(t.team for t in user.teams))


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def csrf_token(session_data: dict[str, Any]) -> str:
    """The session's CSRF token (made on first use); every form posts it back."""
    if "csrf" not in session_data:
        session_data["csrf"] = secrets.token_urlsafe(32)
    return str(session_data["csrf"])


def csrf_ok(session_data: dict[str, Any], token: str | None) -> bool:
    expected = session_data.get("csrf")
    return bool(expected and token) and secrets.compare_digest(str(expected), str(token))


class LoginLimiter:
    """Failed logins per client address and per user name in a sliding window; either over
    the limit blocks the next attempt until the oldest failure leaves the window."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, address: str, username: str) -> int:
        """Seconds until this address and name may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            waits = [failures[0] + self.window_s - now
                     for failures in (self._recent(f"ip:{address}", now),
                                      self._recent(f"user:{username.lower()}", now))
                     if len(failures) >= self.attempts]
        return int(max(waits) + 1) if waits else 0

    def failed(self, address: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(f"ip:{address}", now).append(now)
            self._recent(f"user:{username.lower()}", now).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)
