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
from sqlalchemy import ColumnElement, false, select, true, update
from sqlalchemy.orm import Session

from pipeline.store import Call, Store, User

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


def load_viewer(session: Session, user_id: Any, version: Any) -> Viewer | None:
    """The active user behind a session's user id and session version, with their teams. A
    cookie from before the user's last logout, password change, disable or enable carries an
    older version and opens nothing."""
    if not isinstance(user_id, int) or not isinstance(version, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return Viewer(user.id, user.username, user.role, user.agent_id,
                  frozenset(t.team for t in user.teams))


def end_sessions(store: Store, user_id: int) -> None:
    """Void every session cookie this user holds (their session version moves on)."""
    with store.session() as session:
        session.execute(update(User).where(User.id == user_id)
                        .values(session_version=User.session_version + 1))


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
    """Failed logins in a sliding window, per user name (``attempts`` lock that name) and per
    client address (only ``attempts × address_factor`` lock an address: a whole office may
    sign in from one NAT address, and one person's typos must not lock the others out). A
    lock lasts until the oldest failure leaves the window.

    Refused attempts are counted per lock (the address's when it is locked, so a spray over
    many names is one lock; else the name's), so the audit log gets one row per lock, updated
    with the count, rather than a row per attempt."""

    MAX_KEYS = 50_000  # past this, names and addresses with no recent failure are forgotten

    def __init__(self, attempts: int, window_s: float, address_factor: int = 10) -> None:
        self.attempts = attempts
        self.address_attempts = attempts * address_factor
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._blocked: dict[str, list[int]] = {}  # lock key → [refused attempts, audit row]
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def _locks(self, address: str, username: str, now: float) -> list[tuple[str, float]]:
        """(lock key, seconds it still holds) for the locks that apply to this attempt."""
        locks = []
        for key, limit in ((f"ip:{address}", self.address_attempts),
                           (f"user:{username.lower()}", self.attempts)):
            failures = self._recent(key, now)
            if len(failures) >= limit:
                locks.append((key, failures[0] + self.window_s - now))
            else:
                self._blocked.pop(key, None)  # any earlier lock on it is over
        return locks

    def retry_after(self, address: str, username: str) -> int:
        """Seconds until this address and name may try again (0: now)."""
        with self._lock:
            locks = self._locks(address, username, time.monotonic())
        return int(max(wait for _, wait in locks) + 1) if locks else 0

    def blocked_attempt(self, address: str, username: str) -> tuple[str, int, int | None]:
        """Count one refused attempt: (the lock's key, refused attempts of that lock so far,
        its audit row id or None until the caller records one with ``set_audit_row``)."""
        with self._lock:
            locks = self._locks(address, username, time.monotonic())
            key = locks[0][0] if locks else f"user:{username.lower()}"
            entry = self._blocked.setdefault(key, [0, 0])
            entry[0] += 1
            return key, entry[0], entry[1] or None

    def set_audit_row(self, key: str, row_id: int) -> None:
        with self._lock:
            if key in self._blocked:
                self._blocked[key][1] = row_id

    def failed(self, address: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(f"ip:{address}", now).append(now)
            self._recent(f"user:{username.lower()}", now).append(now)
            if len(self._failures) > self.MAX_KEYS:  # a spray of made-up names
                for key in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[key]

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)
