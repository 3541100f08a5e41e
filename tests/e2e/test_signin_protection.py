"""Sign-in protection: back-off and lockout per account and per address (audited, an admin lifts
it), unknown users answered like known ones, session lifetime and idle timeout, the staff password
policy, security headers on every answer, Secure cookies and CSRF refusal of cross-site posts."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pwdlib import PasswordHash

from commutepass.accounts import service as auth
from commutepass.app import create_app
from commutepass.domain.errors import AuthError, InputError
from commutepass.domain.roles import Role
from commutepass.kit import sessions
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from tests.e2e.auth import FAST_HASHING, PASSWORD, StaffClient, make_users, sign_in
from tests.e2e.support import resident_id

pytestmark = pytest.mark.e2e

CITIZEN_ID = resident_id("131082", date(1990, 1, 1), 81)
STRICT: dict[str, Any] = {
    "signin_free_failures": 2,
    "signin_backoff_seconds": 1,
    "signin_backoff_max_seconds": 1,
    "signin_lockout_failures": 4,
    "signin_address_free_failures": 6,
}


def _settings(data: Path, **extra: Any) -> Settings:
    return Settings(data_dir=data, secret="x", **FAST_HASHING, **{**STRICT, **extra})


@pytest.fixture
def client(tmp_path: Path) -> Iterator[StaffClient]:
    settings = _settings(tmp_path)
    make_users(settings, CITIZEN_ID)
    with StaffClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def _try(client: StaffClient, username: str, password: str) -> Any:
    answer = client.post("/v1/auth/token", data={"username": username, "password": password})
    client.cookies.clear()
    return answer


def _audit(client: StaffClient) -> list[tuple[str, str]]:
    admin = sign_in(client, "test-admin")
    client.cookies.clear()
    return [
        (e["action"], e["detail"].get("username", "")) for e in client.get("/v1/audit", headers=admin).json()
    ]


def test_failures_back_off_then_lock_the_account_until_an_admin_unlocks_it(client: StaffClient) -> None:
    for _ in range(2):
        assert _try(client, "test-officer", "wrong password!").status_code == 401
    third = _try(client, "test-officer", "wrong password!")
    assert third.status_code == 401
    waiting = _try(client, "test-officer", PASSWORD)  # even the right password waits out the back-off
    assert waiting.status_code == 429, waiting.text
    assert waiting.headers["content-type"] == "application/problem+json"
    assert int(waiting.headers["Retry-After"]) >= 1 and waiting.json()["detail_zh"]
    time.sleep(1.1)
    assert _try(client, "test-officer", "wrong password!").status_code == 401  # the fourth: locked
    time.sleep(1.1)  # the back-off is over, the lockout is not
    locked = _try(client, "test-officer", PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 60, locked.text
    assert "admin" in locked.json()["detail"]
    # other accounts are untouched
    assert _try(client, "test-reviewer", PASSWORD).status_code == 200

    admin = sign_in(client, "test-admin")
    client.cookies.clear()
    lifted = client.post("/v1/users/test-officer/unlock", headers=admin)
    assert lifted.status_code == 200 and lifted.json()["was_locked"] is True, lifted.text
    assert _try(client, "test-officer", PASSWORD).status_code == 200
    actions = _audit(client)
    assert actions.count(("signin.failure", "test-officer")) == 4
    assert ("signin.lockout", "test-officer") in actions and ("signin.unlock", "test-officer") in actions


def test_an_unknown_username_is_answered_like_a_known_one(
    client: StaffClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    original = PasswordHash.verify

    def counting(self: PasswordHash, password: str | bytes, hash: str | bytes) -> bool:
        verified.append(str(password))
        return original(self, password, hash)

    monkeypatch.setattr(PasswordHash, "verify", counting)
    known = _try(client, "test-officer", "wrong password!")
    unknown = _try(client, "no-such-user", "wrong password!")
    assert verified == ["wrong password!", "wrong password!"], "the hash is checked for unknown users too"
    assert (known.status_code, known.json()["detail"]) == (unknown.status_code, unknown.json()["detail"])
    for _ in range(2):
        _try(client, "no-such-user", "wrong password!")
    assert _try(client, "no-such-user", "x").status_code == 429, "unknown users back off the same way"


def test_one_address_failing_across_many_accounts_is_slowed_down(client: StaffClient) -> None:
    for n in range(7):  # six free, the seventh starts the back-off
        assert _try(client, f"guess-{n}", "wrong password!").status_code == 401
    blocked = _try(client, "test-reviewer", PASSWORD)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers


def test_session_lifetime_and_idle_timeout_are_settings(tmp_path: Path) -> None:
    settings = _settings(tmp_path, session_lifetime_minutes=90, session_idle_minutes=10)
    make_users(settings, CITIZEN_ID)
    app = App.open(settings)
    try:
        signed = auth.sign_in(app, "test-officer", PASSWORD)
        issued = signed.expires_at - timedelta(minutes=90)
        assert (
            sessions.authenticate(app, signed.token, now=issued + timedelta(minutes=9)).username
            == "test-officer"
        )
        # used at +9 min: idle counts from there
        assert sessions.authenticate(app, signed.token, now=issued + timedelta(minutes=18)).username
        with pytest.raises(AuthError, match="without use"):
            sessions.authenticate(app, signed.token, now=issued + timedelta(minutes=40))
        late = auth.sign_in(app, "test-officer", PASSWORD)
        with pytest.raises(AuthError):
            sessions.authenticate(app, late.token, now=late.expires_at + timedelta(seconds=1))
    finally:
        app.close()


def test_staff_passwords_follow_the_policy(tmp_path: Path) -> None:
    app = App.open(_settings(tmp_path))
    try:
        for password, says in [
            ("eleven char", "12 characters"),
            ("desk-officer-1-pass", "username"),
            ("aaaaaaaaaaaaaaaa", "too easy"),
            ("administrator", "too easy"),
        ]:
            with pytest.raises(InputError, match=says) as refused:
                auth.add_user(app, "officer-1", password, Role.OFFICER)
            assert refused.value.field == "password"
        auth.add_user(app, "officer-1", "plum river lantern", Role.OFFICER)
        auth.add_user(app, "resident-1", "eight ch", Role.CITIZEN, id_number=CITIZEN_ID)
        with pytest.raises(InputError, match="12 characters"):
            auth.set_password(app, "officer-1", "too short")
    finally:
        app.close()


def test_every_answer_carries_the_security_headers(client: StaffClient) -> None:
    for path in ("/login", "/", "/v1/policies", "/v1/me", "/static/app.css", "/nowhere"):
        answer = client.get(path)
        csp = answer.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src and "'unsafe-inline'" not in script_src.group(1), path
        assert "frame-ancestors 'none'" in csp, path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["x-frame-options"] == "DENY", path
        assert answer.headers["referrer-policy"] == "same-origin", path
    docs = client.get("/docs")
    csp = docs.headers["content-security-policy"]
    assert "'unsafe-inline'" not in re.search(r"script-src ([^;]*)", csp).group(1)  # type: ignore[union-attr]
    assert "'sha256-" in csp, "the docs page's own start-up script is allowed by its hash only"


def test_cookies_are_secure_over_https_or_when_configured(tmp_path: Path, client: StaffClient) -> None:
    plain = client.post("/v1/auth/token", data={"username": "test-officer", "password": PASSWORD})
    assert "secure" not in plain.headers["set-cookie"].lower()
    client.cookies.clear()
    settings = _settings(tmp_path / "https", cookie_secure=True)
    make_users(settings, CITIZEN_ID)
    with StaffClient(create_app(settings)) as forced:
        answer = forced.post("/v1/auth/token", data={"username": "test-officer", "password": PASSWORD})
        assert (
            "secure" in answer.headers["set-cookie"].lower()
            and "httponly" in answer.headers["set-cookie"].lower()
        )
    with StaffClient(create_app(_settings(tmp_path / "https")), base_url="https://testserver") as tls:
        answer = tls.post("/v1/auth/token", data={"username": "test-officer", "password": PASSWORD})
        assert "secure" in answer.headers["set-cookie"].lower()


def test_a_cross_site_form_post_with_the_session_cookie_is_refused(client: StaffClient) -> None:
    signed = client.post(
        "/login", data={"username": "test-citizen", "password": PASSWORD}, follow_redirects=False
    )
    assert signed.status_code == 303 and sessions.SESSION_COOKIE in client.cookies
    form = {"id_number": resident_id("120104", date(2016, 2, 3), 82)}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
    ):
        forged = client.post("/citizen/family", data=form, headers=headers, follow_redirects=False)
        assert forged.status_code == 403, (headers, forged.text)
        assert forged.json()["title"] == "Cross-site request refused"
    assert client.get("/v1/me").json()["family"] == [], "nothing was added by a forged post"
    same_site = client.post(
        "/citizen/family",
        data=form,
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert same_site.status_code == 303, same_site.text
    # a bearer token is no ambient credential: an API client from anywhere is not a CSRF
    token = sign_in(client, "test-citizen")
    client.cookies.clear()
    api = client.post(
        "/v1/me/family",
        json={"id_number": resident_id("120104", date(2016, 2, 3), 83)},
        headers={**token, "Origin": "https://other.example"},
    )
    assert api.status_code == 201, api.text
