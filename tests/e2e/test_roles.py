"""The role matrix: every API route declares its roles, and each role gets exactly what the
matrix says — a forbidden role gets 403, nobody signed in gets 401, an allowed role gets past the
gate (its empty or sample request may still be refused as bad input, never with 401/403/5xx)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi import FastAPI

from commutepass.domain.roles import Role
from commutepass.kit.gates import api_routes, declared_roles
from tests.e2e.auth import PASSWORD, StaffClient, sign_in, staff_client
from tests.e2e.support import resident_id

pytestmark = pytest.mark.e2e

CIT, OFF, HOT, REV, ADM, ANA, COM = (
    Role.CITIZEN,
    Role.OFFICER,
    Role.HOTLINE,
    Role.REVIEWER,
    Role.ADMIN,
    Role.ANALYST,
    Role.COMMUNITY,
)
EVERYONE = frozenset(Role)
PUBLIC = None
CITIZEN_ID = resident_id("131082", date(1990, 1, 1), 12)

MATRIX: dict[tuple[str, str], frozenset[Role] | None] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/v1/policies"): PUBLIC,
    ("POST", "/v1/auth/token"): PUBLIC,
    ("POST", "/v1/auth/logout"): EVERYONE,
    ("GET", "/v1/me"): EVERYONE,
    ("POST", "/v1/me/family"): frozenset({CIT}),
    ("GET", "/v1/me/family/requests"): frozenset({CIT}),
    ("POST", "/v1/me/family/requests/{adder}/confirm"): frozenset({CIT}),
    ("DELETE", "/v1/me/family/requests/{adder}"): frozenset({CIT}),
    ("GET", "/v1/family/pending"): frozenset({HOT, REV}),
    ("POST", "/v1/family/{adder}/{person}/verify"): frozenset({HOT, REV}),
    ("GET", "/v1/me/accesses"): frozenset({CIT}),
    ("POST", "/v1/users/{username}/unlock"): frozenset({ADM}),
    ("GET", "/v1/me/results"): frozenset({CIT}),
    ("GET", "/v1/me/inbox"): frozenset({CIT}),
    ("POST", "/v1/me/inbox/reminders"): frozenset({CIT}),
    ("POST", "/v1/me/inbox/read"): frozenset({CIT}),
    ("POST", "/citizen/reminders"): frozenset({CIT}),
    ("GET", "/v1/pledges/positive"): frozenset({REV}),
    ("POST", "/v1/status"): frozenset({CIT, HOT, REV}),
    ("POST", "/v1/checks"): frozenset({OFF}),
    ("GET", "/v1/commuters"): frozenset({REV}),
    ("POST", "/v1/commuters"): frozenset({REV}),
    ("POST", "/v1/loads/{kind}"): frozenset({ADM}),
    ("GET", "/v1/users"): frozenset({ADM}),
    ("POST", "/v1/users"): frozenset({ADM}),
    ("POST", "/v1/users/{username}/disable"): frozenset({ADM}),
    ("POST", "/v1/users/{username}/enable"): frozenset({ADM}),
    ("POST", "/v1/applications"): frozenset({CIT, OFF, HOT, REV, COM}),
    ("GET", "/v1/applications"): frozenset({CIT, OFF, HOT, COM}),
    ("GET", "/v1/applications/queue"): frozenset({REV}),
    ("GET", "/v1/applications/{application_id}"): frozenset({CIT, OFF, HOT, REV, COM}),
    ("POST", "/v1/applications/{application_id}/documents"): frozenset({CIT, OFF, HOT, REV, COM}),
    ("GET", "/v1/applications/{application_id}/documents/{sha256}"): frozenset({REV}),
    ("POST", "/v1/applications/{application_id}/decision"): frozenset({REV}),
    ("POST", "/v1/applications/{application_id}/resubmit"): frozenset({CIT, OFF, HOT, COM}),
    ("POST", "/v1/appeals"): frozenset({CIT, HOT}),
    ("GET", "/v1/appeals"): frozenset({CIT, HOT}),
    ("GET", "/v1/appeals/queue"): frozenset({REV}),
    ("GET", "/v1/appeals/response-times"): frozenset({REV, ANA, ADM}),
    ("GET", "/v1/appeals/{appeal_id}"): frozenset({CIT, HOT, REV}),
    ("POST", "/v1/appeals/{appeal_id}/decision"): frozenset({REV}),
    ("GET", "/v1/feedback"): frozenset({CIT, HOT, REV, ADM}),
    ("POST", "/v1/feedback"): frozenset({CIT}),
    ("POST", "/v1/feedback/{post_id}/replies"): frozenset({HOT, REV, ADM}),
    ("GET", "/v1/audit"): frozenset({ADM}),
    ("GET", "/v1/audit/verify"): frozenset({ADM}),
    ("GET", "/v1/audit/anchor"): PUBLIC,
    ("POST", "/v1/retention/run"): frozenset({ADM}),
    ("GET", "/v1/policies/versions"): frozenset({ADM}),
    ("POST", "/v1/policies"): frozenset({ADM}),
    ("GET", "/v1/policies/{version}/diff"): frozenset({ADM}),
    ("POST", "/v1/policies/{version}/schedule"): frozenset({ADM}),
    ("POST", "/v1/policies/{version}/withdraw"): frozenset({ADM}),
    ("POST", "/v1/policies/{version}/discard"): frozenset({ADM}),
    ("GET", "/v1/stats"): frozenset({ANA, ADM}),
    ("GET", "/v1/waits"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/v1/jobs"): frozenset({ADM}),
    ("GET", "/admin/jobs"): frozenset({ADM}),
    ("GET", "/v1/flow"): frozenset({ANA, ADM}),
    ("GET", "/v1/alerts"): frozenset({ANA, ADM}),
    ("GET", "/v1/alerts/{alert_id:int}"): frozenset({ANA, ADM}),
    ("POST", "/v1/alerts/{alert_id:int}/acknowledge"): frozenset({ANA, ADM}),
    ("POST", "/v1/alerts/evaluate"): frozenset({ADM}),
    # the web pages: the same gate; a page answers 401 with the sign-in form and 403 with a page
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("GET", "/waits"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/citizen"): frozenset({CIT}),
    ("POST", "/citizen/family"): frozenset({CIT}),
    ("POST", "/citizen/family/requests/{adder}/{action}"): frozenset({CIT}),
    ("GET", "/family/pending"): frozenset({HOT, REV}),
    ("POST", "/family/{adder}/{person}/verify"): frozenset({HOT, REV}),
    ("GET", "/citizen/apply"): frozenset({CIT}),
    ("POST", "/citizen/apply"): frozenset({CIT}),
    ("GET", "/citizen/appeal"): frozenset({CIT}),
    ("POST", "/citizen/appeal"): frozenset({CIT}),
    ("GET", "/citizen/accesses"): frozenset({CIT}),
    ("GET", "/checkpoint"): frozenset({OFF}),
    ("POST", "/checkpoint"): frozenset({OFF}),
    ("GET", "/community"): frozenset({COM}),
    ("POST", "/community"): frozenset({COM}),
    ("GET", "/checkpoint/apply"): frozenset({OFF}),
    ("POST", "/checkpoint/apply"): frozenset({OFF}),
    ("GET", "/hotline"): frozenset({HOT}),
    ("POST", "/hotline/register"): frozenset({HOT}),
    ("POST", "/hotline/lookup"): frozenset({HOT}),
    ("GET", "/reviewer"): frozenset({REV}),
    ("GET", "/reviewer/applications/{application_id}"): frozenset({REV}),
    ("POST", "/reviewer/applications/{application_id}"): frozenset({REV}),
    ("GET", "/reviewer/applications/{application_id}/documents/{sha256}"): frozenset({REV}),
    ("GET", "/reviewer/appeals/{appeal_id}"): frozenset({REV}),
    ("POST", "/reviewer/appeals/{appeal_id}"): frozenset({REV}),
    ("GET", "/feedback"): frozenset({CIT, HOT, REV, ADM}),
    ("POST", "/feedback"): frozenset({CIT}),
    ("POST", "/feedback/{post_id}/reply"): frozenset({HOT, REV, ADM}),
    ("GET", "/admin/risk"): frozenset({ADM}),
    ("POST", "/admin/risk"): frozenset({ADM}),
    ("POST", "/admin/risk/{period_id}/end"): frozenset({ADM}),
    ("GET", "/admin/policies"): frozenset({ADM}),
    ("POST", "/admin/policies"): frozenset({ADM}),
    ("POST", "/admin/policies/{version}/{action}"): frozenset({ADM}),
    ("GET", "/admin/whatif"): frozenset({ADM}),
    ("POST", "/admin/whatif"): frozenset({ADM}),
    ("GET", "/admin/whatif/runs/{run_id}"): frozenset({ADM}),
    ("GET", "/admin/whatif/runs/{run_id}/{name}"): frozenset({ADM}),
    ("GET", "/admin/users"): frozenset({ADM}),
    ("POST", "/admin/users"): frozenset({ADM}),
    ("POST", "/admin/users/{username}/{action}"): frozenset({ADM}),
    ("GET", "/analyst"): frozenset({ANA, ADM}),
    ("POST", "/v1/codes"): frozenset({CIT, REV}),
    ("POST", "/v1/codes/verify"): frozenset({OFF}),
    ("POST", "/v1/codes/revocations"): frozenset({REV, ADM}),
    ("GET", "/v1/trust"): PUBLIC,
    ("GET", "/v1/trust/revocations"): PUBLIC,
    ("GET", "/v1/trust/revocations/filter"): PUBLIC,
    ("GET", "/v1/trust/anchor"): PUBLIC,
    ("GET", "/v1/checkpoint/snapshot"): frozenset({OFF}),
    ("POST", "/v1/checkpoint/swipes"): frozenset({OFF}),
}
SAMPLE_PATH = {
    "version": "2099-01-01",
    "kind": "nat",
    "username": "nobody-here",
    "application_id": "999",
    "appeal_id": "999",
    "alert_id": "999",
    "post_id": "999",
    "sha256": "0" * 64,
    "period_id": "999",
    "action": "disable",
    "adder": "999",
    "person": "999",
    "run_id": "20211129T073000-00000000",
    "name": "diff.csv",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffClient]:
    with staff_client(tmp_path_factory.mktemp("roles"), CITIZEN_ID) as test_client:
        test_client.sign_in_all()
        yield test_client


def test_every_route_declares_its_roles_once_as_the_matrix_says(client: StaffClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    routes = api_routes(app)
    assert len(routes) >= len(MATRIX)
    for method, path, dependant in routes:
        declared = declared_roles(dependant)
        assert len(declared) == 1, f"{method} {path} declares roles {len(declared)} times (must be once)"
        assert (method, path) in MATRIX, f"{method} {path} is not in the role matrix: add it"
        assert declared[0] == MATRIX[(method, path)], f"{method} {path}"
    assert {(m, p) for m, p, _ in routes} == set(MATRIX), "the matrix names a route that does not exist"


def _call(client: StaffClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = re.sub(r"{(\w+)(?::\w+)?}", lambda m: SAMPLE_PATH[m.group(1)], path)
    if method == "GET":
        return client.get(url, headers=headers).status_code
    if path in ("/v1/auth/token", "/login"):
        answer = client.post(url, data={"username": "test-officer", "password": PASSWORD}, headers=headers)
        client.cookies.clear()
        return answer.status_code
    if method == "DELETE":
        return client.delete(url, headers=headers).status_code
    return client.post(url, json={}, headers=headers).status_code


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_each_role_gets_exactly_what_the_matrix_allows(client: StaffClient, method: str, path: str) -> None:
    allowed = MATRIX[(method, path)]
    anonymous = _call(client, method, path, {"Authorization": ""})
    if allowed is None:
        assert anonymous not in (401, 403) and anonymous < 500, (method, path, anonymous)
        return
    assert anonymous == 401, f"{method} {path} without a token gave {anonymous}"
    assert _call(client, method, path, {"Authorization": "Bearer not.a.token"}) == 401
    for role in Role:
        # signing out ends the session it is called with: that probe uses a session of its own
        token = (
            sign_in(client, f"test-{role.value}")
            if path in ("/v1/auth/logout", "/logout")
            else client.tokens[role]
        )
        client.cookies.clear()
        status = _call(client, method, path, token)
        if role in allowed:
            assert status not in (401, 403) and status < 500, f"{role.value} {method} {path}: {status}"
        else:
            assert status == 403, f"{role.value} {method} {path}: {status} (must be 403)"
