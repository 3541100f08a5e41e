"""Security headers on every response, and CSRF protection for requests a browser could be tricked
into sending with the session cookie.

Headers: a Content-Security-Policy with no inline script (scripts only from this origin;
``frame-ancestors 'none'``), ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, a
``Referrer-Policy`` and a ``Permissions-Policy`` (the camera for this origin only: the officer's
console scans codes with it; no microphone, location or payment). The interactive API pages (``/docs``,
``/redoc``) are FastAPI's: their own inline start-up script is allowed by its hash, nothing else.

CSRF: an unsafe request (POST, PUT, PATCH, DELETE) that carries the session cookie and no
``Authorization`` header must come from this site: ``Sec-Fetch-Site`` (when sent) must not be
``cross-site``/``same-site``, and ``Origin`` (or, without it, ``Referer``) must name this host.
Browsers send these on every cross-site form post; a client that sends neither is no browser
and cannot be made to carry a victim's cookie. The cookie is also ``SameSite=Lax``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commutepass.kit.sessions import SESSION_COOKIE

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""Inline styles stay allowed for the charts' SVG (pygal writes ``<style>`` into each chart)."""
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CDN = "https://cdn.jsdelivr.net"
HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def docs_csp(body: bytes) -> str:
    """The CSP of FastAPI's docs page: its own inline scripts by hash, assets from the CDN."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in _INLINE_SCRIPT.finditer(body)
    )
    return (
        f"default-src 'self'; script-src 'self' {DOCS_CDN} {hashes}; style-src 'self' {DOCS_CDN} "
        f"'unsafe-inline'; img-src 'self' data: https://fastapi.tiangolo.com; worker-src 'self' blob:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def cross_site(scope: Scope) -> str | None:
    """Why this cookie-authenticated unsafe request looks forged, or None when it does not."""
    if scope.get("method") not in UNSAFE or _header(scope, b"authorization"):
        return None
    cookies = _header(scope, b"cookie") or ""
    if f"{SESSION_COOKIE}=" not in cookies:
        return None
    fetch_site = _header(scope, b"sec-fetch-site")
    if fetch_site in ("cross-site", "same-site"):
        return f"Sec-Fetch-Site is {fetch_site}"
    host = _header(scope, b"host")
    origin = _header(scope, b"origin")
    if origin is not None:
        if origin == "null" or urlsplit(origin).netloc != host:
            return f"Origin {origin} is not this site"
        return None
    referer = _header(scope, b"referer")
    if referer is not None and urlsplit(referer).netloc != host:
        return "Referer is not this site"
    return None


class Protection:
    """ASGI middleware: the security headers on every answer, and the CSRF check."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        forged = cross_site(scope)
        if forged is not None:
            await _refuse(send, forged)
            return
        docs = scope.get("path") in DOCS_PATHS
        start: dict[str, Any] = {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                if docs:
                    start.update(message)
                    return
                message["headers"] = [
                    *message.get("headers", []),
                    *HEADERS,
                    (b"content-security-policy", CSP.encode()),
                ]
            elif docs and message["type"] == "http.response.body" and start:
                # the docs page is one small body: its inline scripts are hashed into its CSP
                start["headers"] = [
                    *start.get("headers", []),
                    *HEADERS,
                    (b"content-security-policy", docs_csp(message.get("body", b"")).encode()),
                ]
                await send(start)
                start.clear()
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(send: Send, why: str) -> None:
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": "Cross-site request refused",
            "status": 403,
            "detail": f"a form or request from another site may not use your session ({why}); "
            "open the page on this site and send it again",
            "detail_zh": "不接受其他网站借用您的登录状态提交的请求：请在本站页面重新提交",
        }
    )
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *HEADERS,
        (b"content-security-policy", CSP.encode()),
    ]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})
