"""``notify refresh`` (make the messages due now) and ``notify send`` (the webhook sender)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from commutepass.domain.clock import parse_time
from commutepass.domain.errors import InputError
from commutepass.kit.cli import app_of, emit, fail

cli = typer.Typer()
notify_group = typer.Typer(help="The citizen's messages and their outbound webhook.", no_args_is_help=True)
cli.add_typer(notify_group, name="notify")


@notify_group.command("refresh")
def notify_refresh(
    ctx: typer.Context,
    now: Annotated[str | None, typer.Option("--now", help="As of this time (ISO 8601; default now).")] = None,
) -> None:
    """Make the messages due now (lapse reminders, lapses, entries, decisions); each is told once."""
    from commutepass.notifications import service

    try:
        moment = parse_time(now, "now") if now else None
    except InputError as exc:
        fail(exc)
    emit(service.refresh(app_of(ctx), now=moment))


@notify_group.command("send")
def notify_send(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option("--url", help="The webhook that receives each message (HTTP POST, JSON).")
    ],
    once: Annotated[bool, typer.Option("--once", help="Send what is due and stop.")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.05, help="Seconds between rounds.")] = 2.0,
    refresh: Annotated[
        bool, typer.Option("--refresh/--no-refresh", help="Make new messages each round.")
    ] = True,
    lease_seconds: Annotated[
        float,
        typer.Option(
            "--lease-seconds",
            min=0.5,
            help="How long a message taken by a sender is held before another sender (or this one, "
            "restarted after a crash) may take it over.",
        ),
    ] = 60.0,
) -> None:
    """Deliver the outbox to a webhook, with retries; SIGTERM or Ctrl-C stops after the message
    in flight is marked. Each message carries its id in the Idempotency-Key header."""
    if not url.startswith(("http://", "https://")):
        fail(InputError("url", f"'{url}' is not an http(s) URL", f"“{url}”不是 http(s) 地址"))
    from commutepass.kit import outbox
    from commutepass.notifications import service

    app = app_of(ctx)
    sender = outbox.WebhookSender(
        app.engine, service.CHANNEL, url, retry=outbox.RetryPolicy(lease_seconds=lease_seconds)
    )
    try:
        if once:
            if refresh:
                service.refresh(app)
            report = sender.send_due()
            emit({"sent": report.sent, "failed": report.failed})
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        sender.run(stop, interval, before=(lambda: service.refresh(app)) if refresh else None)
    finally:
        sender.close()
