"""Signing in as each role in the end-to-end tests: one user per role, made through the service
the CLI and the API use, and a TestClient that sends each request as the staff member the
endpoint is for (the role matrix in test_roles.py proves the other roles are refused)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from commutepass.accounts import service as auth
from commutepass.app import create_app
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.settings import Settings

PASSWORD = "correct horse battery"
FAST_HASHING: dict[str, Any] = {"password_hash_memory_kib": 1024, "password_hash_rounds": 1}
"""Cheap Argon2 costs for the tests' throw-away users (sign-in still runs the real hasher)."""
STAFF_FOR_PATH = (
    ("/v1/checks", Role.OFFICER),
    ("/v1/status", Role.REVIEWER),
    ("/v1/commuters", Role.REVIEWER),
    ("/v1/loads", Role.ADMIN),
    ("/v1/codes/verify", Role.OFFICER),
    ("/v1/codes", Role.REVIEWER),  # issue, and revoke
    ("/v1/checkpoint", Role.OFFICER),
)


def make_users(settings: Settings, citizen_id: str) -> dict[Role, str]:
    """One user per role (the citizen linked to ``citizen_id``); returns role → username."""
    application = App.open(settings)
    try:
        for role in Role:
            auth.add_user(
                application,
                f"test-{role.value}",
                PASSWORD,
                role,
                id_number=citizen_id if role is Role.CITIZEN else None,
            )
    finally:
        application.close()
    return {role: f"test-{role.value}" for role in Role}


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class StaffClient(TestClient):
    """Sends each request with the token of the role its path belongs to, unless the request
    carries its own Authorization header."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens: dict[Role, dict[str, str]] = {}

    def sign_in_all(self) -> None:
        for role in Role:
            self.tokens[role] = sign_in(self, f"test-{role.value}")
        self.cookies.clear()  # the token endpoint also sets the cookie; requests here use Bearer

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        path = str(url)
        headers = dict(kwargs.pop("headers", None) or {})
        if self.tokens and "Authorization" not in headers:
            role = next((r for prefix, r in STAFF_FOR_PATH if path.startswith(prefix)), None)
            if role is not None:
                headers.update(self.tokens[role])
        return super().request(method, url, *args, headers=headers, **kwargs)


def staff_client(data_dir: Path, citizen_id: str, secret: str = "x") -> StaffClient:
    settings = Settings(data_dir=data_dir, secret=secret, **FAST_HASHING)
    make_users(settings, citizen_id)
    # 500s come back as responses (not raised) so a test can say "never a 500" and show the body
    return StaffClient(create_app(settings), raise_server_exceptions=False)
