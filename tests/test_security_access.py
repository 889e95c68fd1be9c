"""Attacks on access: reading host files through the audio route, forged or stale session
cookies, and login limits that lock out a whole office."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from review_fixtures import PASSWORD, audit_rows, csrf_from, sign_in
from sqlalchemy import update

from pipeline.batch.run import collect, inspect_call
from pipeline.batch.scorer import Scorer
from pipeline.config import Settings
from pipeline.store import Call, Store
from review.app import create_app, session_secret

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPT = EXAMPLES / "calls" / "zh-model-call.json"  # a transcript: the call is scored from it
RECORDING = EXAMPLES / "calls" / "zh-model-call.ogg"
HEADER = "call_id,transcript_path,audio_path,language,agent_id,team,started_at\n"


def write_batch(settings: Settings, store: Store, folder: Path, rows: dict[str, str]) -> None:
    """Score a manifest of calls (call id → audio path) from the demo transcript, as the nightly
    run does, and store them for team t1."""
    lines = [HEADER] + [f"{call_id},{SCRIPT},{audio},zh,A1,t1,2026-11-20T10:00:00+08:00\n"
                        for call_id, audio in rows.items()]
    (folder / "manifest.csv").write_text("".join(lines))
    scorer = Scorer(settings)
    document = json.loads(SCRIPT.read_text())
    for call in collect(settings, manifest=folder / "manifest.csv").calls:
        store.write_call(inspect_call(scorer, call, {**document, "call_id": call["call_id"]},
                                      {"asr": "test"}))


@pytest.fixture
def attacked(client_for, app_store, tmp_path: Path):
    """Calls whose manifest rows point the audio at files nobody should read."""
    settings, store = app_store
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    session_secret(settings)  # the key exists, as it does once the app has run
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(RECORDING, elsewhere / "real.ogg")
    (recordings / "passwd.wav").symlink_to("/etc/passwd")
    (recordings / "outside.ogg").symlink_to(elsewhere / "real.ogg")
    shutil.copy(RECORDING, recordings / "good.ogg")
    write_batch(settings, store, recordings, {
        "etc-passwd": "/etc/passwd",
        "the-key": str(settings.secrets_dir / "review-secret"),
        "legacy-key-place": str(settings.home / "review-secret"),
        "symlink-to-passwd": str(recordings / "passwd.wav"),
        "symlink-outside-root": str(recordings / "outside.ogg"),
        "good": str(recordings / "good.ogg"),
    })
    return client_for("sup1"), store, recordings


def test_no_host_file_is_served_through_the_audio_route(attacked) -> None:
    client, store, _ = attacked
    for call_id in ("etc-passwd", "the-key", "legacy-key-place", "symlink-to-passwd",
                    "symlink-outside-root"):
        response = client.get(f"/calls/{call_id}/audio")
        assert response.status_code == 404, call_id
        assert "root:" not in response.text
        with store.session() as session:  # the path from the row was never kept
            assert session.get(Call, call_id).audio_path is None, call_id
    good = client.get("/calls/good/audio")
    assert good.status_code == 200 and good.headers["content-type"] == "audio/ogg"


def test_a_recording_swapped_after_scoring_is_not_served(attacked, app_store) -> None:
    client, _, recordings = attacked
    settings = app_store[0]
    good = recordings / "good.ogg"
    good.unlink()
    good.symlink_to(settings.secrets_dir / "review-secret")  # the same name, another file
    assert client.get("/calls/good/audio").status_code == 404
    good.unlink()
    good.write_bytes(RECORDING.read_bytes()[:-100] + b"x" * 100)  # same place, new content
    assert client.get("/calls/good/audio").status_code == 404
    page = client.get("/calls/good")
    assert page.status_code == 200 and 'id="player"' not in page.text


def test_a_path_written_straight_into_the_store_is_not_served(client_for, app_store) -> None:
    _, store = app_store
    with store.session() as session:  # a row from before migration 0004, or tampering
        session.execute(update(Call).where(Call.call_id == "zh-malicious-complaint")
                        .values(audio_path="/etc/passwd", audio_sha256=None))
    assert client_for("sup1").get("/calls/zh-malicious-complaint/audio").status_code == 404
    with store.session() as session:  # a hash alone does not widen the root either
        session.execute(update(Call).where(Call.call_id == "zh-malicious-complaint")
                        .values(audio_path="/etc/passwd", audio_sha256="0" * 64,
                                audio_root="/"))
    assert client_for("sup1").get("/calls/zh-malicious-complaint/audio").status_code == 404


def test_configured_audio_roots_limit_what_is_served(app_store, tmp_path: Path) -> None:
    settings, store = app_store
    narrowed = settings.model_copy(update={"store": settings.store.model_copy(
        update={"audio_roots": [tmp_path / "somewhere-else"]})})
    (tmp_path / "somewhere-else").mkdir()
    client = sign_in(TestClient(create_app(narrowed, store)), "sup1")
    assert client.get("/calls/zh-malicious-complaint/audio").status_code == 404


def test_the_signing_key_lives_apart_and_owner_only(app_store) -> None:
    settings, _ = app_store
    legacy = settings.home / "review-secret"
    legacy.write_text("k" * 64)  # where an earlier version kept it: moved, not left behind
    key = session_secret(settings)
    path = settings.secrets_dir / "review-secret"
    assert key == "k" * 64 and not legacy.exists()
    assert path.stat().st_mode & 0o777 == 0o600
    assert settings.secrets_dir.stat().st_mode & 0o777 == 0o700


def _forge(secret: str, payload: dict) -> str:
    import base64

    data = base64.b64encode(json.dumps(payload).encode())
    return TimestampSigner(secret).sign(data).decode()


def test_a_forged_or_stale_cookie_opens_nothing(client_for, app_store) -> None:
    settings, _ = app_store
    for secret, payload in (("guessed-key", {"uid": 1, "sv": 0}),
                            (session_secret(settings), {"uid": 1})):  # no session version
        client = client_for()
        client.cookies.set("callqa_session", _forge(secret, payload))
        assert client.get("/audit", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("how", ["logout", "password", "disable_enable"])
def test_sessions_end_at_logout_password_change_and_disable(client_for, app_store,
                                                            how: str) -> None:
    from review.users import set_active, set_password

    _, store = app_store
    client = client_for("sup1")
    stolen = dict(client.cookies)  # a copy of the cookie, as an attacker would keep it
    if how == "logout":
        token = csrf_from(client.get("/queue").text)
        assert client.post("/logout", data={"csrf_token": token},
                           follow_redirects=False).status_code == 303
    elif how == "password":
        set_password(store, "sup1", "a new long password")
    else:
        set_active(store, "sup1", False)
        set_active(store, "sup1", True)
    thief = client_for()
    thief.cookies.update(stolen)
    assert thief.get("/queue", follow_redirects=False).status_code == 303
    again = client_for("sup1" if how != "password" else None)  # signing in again works
    if how == "password":
        sign_in(again, "sup1", "a new long password")
    assert again.get("/queue", follow_redirects=False).status_code == 200


def test_failed_logins_lock_the_name_not_the_office(client_for, app_store) -> None:
    _, store = app_store
    client = client_for()  # every TestClient comes from the same address
    token = csrf_from(client.get("/login").text)

    def attempt(username: str, password: str) -> int:
        return client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token},
                           follow_redirects=False).status_code

    for _ in range(5):
        assert attempt("sup1", "wrong") == 401
    assert attempt("sup1", PASSWORD) == 429  # the name is locked ...
    neighbour = client_for()  # ... its neighbour at the same address is not
    sign_in(neighbour, "sup2")
    for _ in range(40):
        assert attempt("sup1", PASSWORD) == 429
    rows = audit_rows(store, "login_blocked")
    assert len(rows) == 1 and rows[0].detail["attempts"] == 40  # one row per lock


def test_an_address_spraying_many_names_is_locked(client_for, app_store) -> None:
    client = client_for()
    token = csrf_from(client.get("/login").text)
    codes = [client.post("/login", data={"username": f"user{n}", "password": "x",
                                         "csrf_token": token}).status_code
             for n in range(80)]
    assert codes[:50] == [401] * 50 and set(codes[50:]) == {429}
    rows = audit_rows(app_store[1], "login_blocked")
    assert len(rows) == 1 and rows[0].detail["lock"] == "ip:testclient"  # one lock, one row


def test_decoded_recordings_keep_their_hash_and_root(app_store, tmp_path: Path) -> None:
    settings, store = app_store
    folder = tmp_path / "day"
    folder.mkdir()
    shutil.copy(RECORDING, folder / "a.ogg")
    write_batch(settings, store, folder, {"kept": str(folder / "a.ogg")})
    with store.session() as session:
        call = session.get(Call, "kept")
        assert call.audio_root == str(folder.resolve())
        assert call.audio_path == str((folder / "a.ogg").resolve())
        assert len(call.audio_sha256) == 64
