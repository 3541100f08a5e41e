"""The checkpoint console's camera: Chromium's fake camera shows a QR code the app issued, the
console reads it with jsQR (served by the app) and checks it; a tampered code is refused.

Each case launches its own Chromium with ``--use-file-for-fake-video-capture`` pointing at a
Y4M video the test makes from the code (the other browser tests keep their shared browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cbor2
import httpx
import pytest
import segno
from playwright.sync_api import Browser, Page, expect

from commutepass.credentials.codes import PREFIX, open_code, wrap
from commutepass.domain.roles import Role
from tests.browser.conftest import CHROMIUM, DESK, LAUNCH_ARGS, PEOPLE, USERS, Site, sign_in
from tests.e2e.auth import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WIDTH, HEIGHT = 640, 480
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def write_y4m(text: str, path: Path, frames: int = 5) -> Path:
    """A still video (4:2:0, 640×480) of the QR code of ``text``, black on white, centred."""
    matrix = [list(row) for row in segno.make(text, error="m", micro=False).matrix]
    size = len(matrix) + 8  # four modules of quiet zone each side
    scale = min(WIDTH, HEIGHT) // size
    assert scale >= 4, f"a {len(matrix)}-module code does not fit {WIDTH}×{HEIGHT} legibly"
    left, top = (WIDTH - len(matrix) * scale) // 2, (HEIGHT - len(matrix) * scale) // 2
    luma = bytearray([235]) * (WIDTH * HEIGHT)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + y * scale + dy) * WIDTH + left + x * scale
                    luma[start : start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F5:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)
    return path


def issued_code(site: Site) -> str:
    """A code the app issues to the commuter (the citizen user, for themself), through the API."""
    with httpx.Client(base_url=site.base, timeout=10) as client:
        token = client.post(
            "/v1/auth/token", data={"username": USERS[Role.CITIZEN], "password": PASSWORD}
        ).raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        answer = client.post("/v1/codes", json={"id_number": PEOPLE.commuter}, headers=headers)
        code: str = answer.raise_for_status().json()["code"]
    assert code.startswith(PREFIX)
    return code


def tampered(code: str) -> str:
    """The same code with the holder's masked ID changed and the original signature kept."""
    message = open_code(code)
    claims = cbor2.loads(message.payload)
    claims[-270]["m"] = "110***********0000"
    forged = cbor2.CBORTag(18, [message.protected_raw, {}, cbor2.dumps(claims), message.signature])
    return wrap(cbor2.dumps(forged))


@pytest.fixture
def camera_page(browser: Browser, tmp_path: Path) -> Iterator[object]:
    """``open(video)``: the console in a Chromium whose camera shows ``video``, signed in as an officer."""
    launched: list[Browser] = []

    def open_with(video: Path) -> Page:
        camera = browser.browser_type.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*LAUNCH_ARGS, *FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}"],
        )
        launched.append(camera)
        context = camera.new_context(viewport=DESK, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_with
    for camera in launched:
        camera.close()


def test_the_camera_reads_an_issued_code_and_the_console_checks_it(
    site: Site, camera_page: object, tmp_path: Path
) -> None:
    code = issued_code(site)
    page = camera_page(write_y4m(code, tmp_path / "code.y4m"))  # type: ignore[operator]
    sign_in(page, site.base, USERS[Role.OFFICER])
    assert page.evaluate("typeof window.jsQR") == "function", "jsQR is served by the app"
    assert page.evaluate("[...document.scripts].every(s => !s.src || s.src.startsWith(location.origin))")
    page.locator("#camera-start").click()
    verdict = page.locator("#verdict")
    expect(verdict).to_be_visible()
    expect(page.locator("#code-validity")).to_have_attribute("data-valid", "true")
    expect(verdict).to_have_attribute("data-decision", "allow")
    masked = PEOPLE.commuter[:3] + "*" * 11 + PEOPLE.commuter[-4:]
    expect(page.locator("#code-validity")).to_contain_text(masked)  # the holder the code names
    expect(page.locator("#q")).to_have_value("")  # ready for the next one


def test_the_camera_reads_a_tampered_code_and_the_console_refuses_it(
    site: Site, camera_page: object, tmp_path: Path
) -> None:
    forged = tampered(issued_code(site))
    page = camera_page(write_y4m(forged, tmp_path / "forged.y4m"))  # type: ignore[operator]
    sign_in(page, site.base, USERS[Role.OFFICER])
    page.keyboard.press("Alt+c")  # the keyboard way to the camera
    expect(page.locator("#code-validity")).to_have_attribute("data-valid", "false")
    expect(page.locator("#verdict")).to_have_attribute("data-decision", "refuse")
    expect(page.locator("#verdict .reasons li[data-code=CREDENTIAL_SIGNATURE]")).to_be_visible()


def test_without_a_camera_the_console_says_so_and_typing_still_works(as_role: object) -> None:
    """The shared browser has no camera: the button falls back to the scanner and the keyboard."""
    desk = as_role(Role.OFFICER)  # type: ignore[operator]
    desk.locator("#camera-start").click()
    expect(desk.locator("#camera-status")).to_have_attribute("data-state", "unavailable")
    desk.locator("#q").fill(PEOPLE.commuter)
    desk.keyboard.press("Enter")
    expect(desk.locator("#verdict")).to_have_attribute("data-decision", "allow")
