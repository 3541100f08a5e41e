"""The API fuzzed by Schemathesis against the real server, once per role (and anonymously):
positive and negative generation, the examples, coverage, fuzzing and stateful phases, every
check on — zero failures. So every status and media type the server answers is declared in
``/openapi.json``, responses match their schemas, and no input makes a 500.

Sign-out ends the token it is sent with, so it is kept out of the main run and fuzzed on its own
with a fresh token. The fuzz server's sign-in throttle is set wide (the fuzzer sends many wrong
passwords from one address); the throttle has its own tests (test_signin_protection.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from commutepass.accounts import service as auth
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from tests.e2e.auth import FAST_HASHING, PASSWORD
from tests.e2e.support import SECRET, background, free_port, resident_id, wait_until_healthy

pytestmark = pytest.mark.e2e

CONFIG = Path(__file__).parent / "fuzz" / "schemathesis.toml"
EXAMPLES = 8
"""Generated cases per operation and phase: enough to reach every status, quick on two cores."""
LOGOUT = "/v1/auth/logout"
ROLES = [*(r.value for r in Role), "anonymous"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    app = App.open(Settings(data_dir=data, secret=SECRET, **FAST_HASHING))
    try:
        for role in Role:
            linked = resident_id("131082", date(1990, 1, 1), 91) if role is Role.CITIZEN else None
            auth.add_user(app, f"fuzz-{role.value}", PASSWORD, role, id_number=linked)
    finally:
        app.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    wide = {
        "COMMUTEPASS_SIGNIN_ADDRESS_FREE_FAILURES": "1000000",
        "COMMUTEPASS_SIGNIN_FREE_FAILURES": "1000000",
        "COMMUTEPASS_SIGNIN_LOCKOUT_FAILURES": "1000000",
    }
    with background(data, "serve", "--port", str(port), env=wide) as server:
        wait_until_healthy(url, server)
        yield url


def _token(base: str, role: str) -> list[str]:
    if role == "anonymous":
        return []
    answer = httpx.post(f"{base}/v1/auth/token", data={"username": f"fuzz-{role}", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return ["-H", f"Authorization: Bearer {answer.json()['access_token']}"]


def _schemathesis(base: str, tmp: Path, *args: str) -> None:
    st = Path(sys.executable).with_name("st")
    argv = [
        str(st),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base}/openapi.json",
        "--checks",
        "all",
        "--mode",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "16",
        "--no-shrink",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(tmp),
        *args,
    ]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, f"schemathesis found failures:\n{run.stdout[-12000:]}\n{run.stderr[-2000:]}"
    assert "0 failures" in run.stdout or "passed" in run.stdout, run.stdout[-3000:]


@pytest.mark.parametrize("role", ROLES)
def test_the_api_holds_to_its_openapi_for_every_role(base: str, role: str, tmp_path: Path) -> None:
    phases = "examples,coverage,fuzzing,stateful"
    _schemathesis(base, tmp_path, *_token(base, role), "--phases", phases, "--exclude-path", LOGOUT)
    # sign-out on its own, with a token of its own
    _schemathesis(
        base, tmp_path, *_token(base, role), "--phases", "examples,coverage,fuzzing", "--include-path", LOGOUT
    )
