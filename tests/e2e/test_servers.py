"""The HTTP server as a user starts it: ``commutepass serve`` and ``commutepass demo``, over TCP."""

from __future__ import annotations

import re
import socket
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import background, free_port, masked, resident_id, run_cli, wait_until_healthy

pytestmark = pytest.mark.e2e

COMMUTER = resident_id("131082", date(1990, 1, 1), 12)


def _sign_in(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    answer = http.post("/v1/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_serve_answers_over_http(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run_cli(
        tmp_path / "data",
        "users",
        "add",
        "police-1",
        "--role",
        "reviewer",
        "--password-stdin",
        stdin="s3cret-passphrase\n",
    )
    with background(tmp_path / "data", "serve", "--port", str(port)) as server:
        wait_until_healthy(base, server)
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.post("/v1/status", json={"id_number": COMMUTER}).status_code == 401
            http.headers.update(_sign_in(http, "police-1", "s3cret-passphrase"))
            enrolled = http.post(
                "/v1/commuters", json={"id_number": COMMUTER, "since": "2021-11-01", "source": "manual"}
            )
            assert enrolled.status_code == 201, enrolled.text
            status = http.post("/v1/status", json={"id_number": COMMUTER, "at": "2021-11-20T07:00"})
            assert status.status_code == 200, status.text
            body = status.json()
            assert (body["id"], body["commuter_class"], body["commuter_badge"]) == (
                masked(COMMUTER),
                "daily",
                False,
            )
            assert [r["code"] for r in body["reasons"]][-1] == "BADGE_NO_NAT"
            problem = http.post("/v1/status", json={"id_number": COMMUTER[:-1]})
            assert problem.status_code == 422
            assert problem.headers["content-type"] == "application/problem+json"
            assert problem.json()["field"] == "id_number"
        assert server.process.poll() is None, "the server keeps running between requests"
    # the server wrote to the data directory it was given
    assert (tmp_path / "data" / "commutepass.db").is_file()


def _get_health(conn: socket.socket) -> bytes:
    conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def test_serve_keeps_an_idle_connection_longer_than_clients_do(tmp_path: Path) -> None:
    """The soak's one read error (docs/benchmarks.md): uvicorn closed idle connections after 5 s,
    the same 5 s after which httpx stops reusing them, so a request sent on a connection at the
    moment the server closed it was lost. ``serve`` now keeps them ``keep_alive_seconds`` (65 s);
    a connection idle for 6 s still answers (it was closed after 5 s before)."""
    port = free_port()
    with background(tmp_path / "data", "serve", "--port", str(port)) as server:
        wait_until_healthy(f"http://127.0.0.1:{port}", server)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            assert _get_health(conn).startswith(b"HTTP/1.1 200")
            time.sleep(6)  # longer than httpx's idle expiry and uvicorn's default keep-alive
            assert _get_health(conn).startswith(b"HTTP/1.1 200"), "the idle connection was closed"


def test_demo_serves_the_api_it_describes(tmp_path: Path) -> None:
    with background(tmp_path / "demo", "demo", "--people", "400", "--port", str(free_port())) as demo:
        demo.wait_for_line("Ctrl-C to stop", timeout=150)
        printed = "".join(demo.output)
        match = re.search(r"API \(OpenAPI\)\s+(http://127\.0\.0\.1:\d+)/docs", printed)
        assert match, printed
        base = match.group(1)
        sign_ins = re.findall(rf"(demo-[a-z]+)\s+password (\S+)\s+→ {re.escape(base)}(/[a-z/]+)\n", printed)
        assert {page for _user, _password, page in sign_ins} >= {
            "/citizen",
            "/checkpoint",
            "/hotline",
            "/reviewer",
            "/admin/risk",
            "/analyst",
        }, printed
        replayed = re.search(r"replayed the last 7 days' entries at the checkpoints: (.+)", printed)
        assert replayed and "allow" in replayed.group(1), printed
        sample = re.search(
            r"^\s+ID (\d{17}[\dX]) .*?\n\s+decision: (\S+).*?try: commutepass .*? check \S+ --at (\S+) "
            r"--site (\S+) --mode (road|rail)",
            printed,
            flags=re.MULTILINE | re.DOTALL,
        )
        assert sample, printed
        id_number, decision, at, site, mode = sample.groups()
        signed = re.search(r"officer\s+(demo-officer)\s+password (\S+)", printed)
        assert signed, printed
        wait_until_healthy(base, demo)
        assert httpx.get(f"{base}/health", timeout=10).json() == {"status": "ok"}
        with httpx.Client(base_url=base, timeout=30) as http:
            officer = _sign_in(http, signed.group(1), signed.group(2))
        check = httpx.post(
            f"{base}/v1/checks",
            json={"id_number": id_number, "at": at, "site": site, "mode": mode},
            headers=officer,
            timeout=30,
        )
        assert check.status_code == 200, check.text
        body = check.json()
        # the demo's own sample, asked over HTTP, gets the decision the demo printed
        assert (body["id"], body["decision"]) == (masked(id_number), decision)
        assert body["explanation"]["zh"] and body["explanation"]["en"].startswith("Policy in force")
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
        for username, password, page in sign_ins:
            # each role's printed sign-in opens its page (and only after signing in)
            assert httpx.get(f"{base}{page}", timeout=30).status_code == 401, page
            with httpx.Client(base_url=base, timeout=30, follow_redirects=True) as browser:
                signed_in = browser.post("/login", data={"username": username, "password": password})
                assert signed_in.status_code == 200 and signed_in.url.path == page, (username, page)
