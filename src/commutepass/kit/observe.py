"""Operating the service: Prometheus metrics, JSON logs with a request id, the request middleware.

Metrics (``/metrics``, prometheus-client; per process — with ``serve --workers N`` each scrape
reaches one worker, see docs/operations.md):

- ``commutepass_http_requests_total{route,method,status}`` and
  ``commutepass_http_request_seconds{route}`` (route = the path template, never an id)
- ``commutepass_decisions_total{decision,site}``: stored checks by outcome and site
- ``commutepass_swipe_queue_depth`` and ``commutepass_swipe_commit_seconds``: the group-commit writer
- ``commutepass_job_runs_total{job,outcome}`` and ``commutepass_job_run_seconds{job}``
- ``commutepass_alerts_open``: live alerts (read from the store at each scrape)
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pythonjsonlogger.json import JsonFormatter

_ids = itertools.count()
_prefix = secrets.token_hex(10)


def _new_prefix() -> None:
    global _prefix
    _prefix = secrets.token_hex(10)


os.register_at_fork(after_in_child=_new_prefix)  # a forked worker numbers its own requests


def new_request_id() -> str:
    """A request id unique across processes and restarts (32 hex digits, like a UUID's): a random
    prefix per process and a counter — no system call per request, as ``uuid4`` makes."""
    return f"{_prefix}{next(_ids) & 0xFFFFFFFFFFFF:012x}"


REGISTRY = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter(
    "commutepass_http_requests",
    "HTTP requests by route and status",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "commutepass_http_request_seconds",
    "HTTP request latency by route",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
DECISIONS = Counter(
    "commutepass_decisions", "Stored checks by decision and site", ["decision", "site"], registry=REGISTRY
)
SWIPE_QUEUE = Gauge(
    "commutepass_swipe_queue_depth", "Swipes waiting for the group-commit writer", registry=REGISTRY
)
SWIPE_COMMIT = Histogram(
    "commutepass_swipe_commit_seconds",
    "Time to store one batch of swipes (one transaction)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
JOB_RUNS = Counter(
    "commutepass_job_runs", "Scheduled job runs by outcome", ["job", "outcome"], registry=REGISTRY
)
JOB_SECONDS = Histogram(
    "commutepass_job_run_seconds",
    "Scheduled job run duration",
    ["job"],
    buckets=(0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600),
    registry=REGISTRY,
)
ALERTS_OPEN = Gauge("commutepass_alerts_open", "Live (open or acknowledged) alerts", registry=REGISTRY)

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def job_ran(job: str, outcome: str, seconds: float) -> None:
    JOB_RUNS.labels(job, outcome).inc()
    JOB_SECONDS.labels(job).observe(seconds)


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr: time, level, logger, message, request_id (and any extra fields)."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_RequestId())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("commutepass.access")


class Observe:
    """Pure ASGI middleware: a request id (the client's ``X-Request-ID`` if it sent a sane one,
    else a new one) on the response, in every log line of the request and in the access log;
    request counts and latency by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1")[:64]
                break
        rid = given if given and given.replace("-", "").isalnum() else new_request_id()
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "static" if scope["path"].startswith("/static") else "other"
            )
            HTTP_REQUESTS.labels(template, scope["method"], str(status)).inc()
            HTTP_SECONDS.labels(template).observe(seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "route": template,
                        "method": scope["method"],
                        "status": status,
                        "ms": round(seconds * 1000, 2),
                    },
                )
            request_id.reset(token)
