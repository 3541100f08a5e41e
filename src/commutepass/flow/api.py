"""Flow, waits and alerts over HTTP (thin: the use cases are ``flow.service``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from commutepass.flow import service
from commutepass.kit.gates import PUBLIC, Admin, Analyst, AppDep
from commutepass.kit.schemas import Moment

router = APIRouter(prefix="/v1", tags=["flow"])


class AcknowledgeIn(BaseModel):
    note: str = Field("", max_length=1000)


@router.get("/waits", summary="Estimated waits at every checkpoint and station", dependencies=[PUBLIC])
def waits(app: AppDep, at: Moment | None = None) -> dict[str, Any]:
    """For everyone, without sign-in: each checkpoint and rail station with its current estimated
    wait, the trend over the last hour and the usual wait at this hour of the week. Counts only."""
    return service.waits(app, app.moment(at))


@router.get("/flow", summary="Flow per entry channel over the last hour")
def flow(
    app: AppDep, user: Analyst, at: Moment | None = None, site: str | None = Query(None, max_length=64)
) -> list[dict[str, Any]]:
    """Arrivals and decisions per minute and per 5 minutes, the refusal rate and the estimated
    queue and wait (M/M/c with Erlang C plus a fluid backlog), per site and lane."""
    return service.flow(app, app.moment(at), site)


@router.get("/alerts", summary="Alerts (the live ones, or the last hundred)")
def alerts(app: AppDep, user: Analyst, live: bool = False) -> list[dict[str, Any]]:
    return service.alerts(app, live_only=live)


@router.get("/alerts/{alert_id:int}", summary="One alert with its history")
def alert(alert_id: int, app: AppDep, user: Analyst) -> dict[str, Any]:
    return service.alert(app, alert_id)


@router.post("/alerts/{alert_id:int}/acknowledge", summary="Acknowledge an alert")
def acknowledge(alert_id: int, body: AcknowledgeIn, app: AppDep, user: Analyst) -> dict[str, Any]:
    """The alert stays live until its condition is gone; the acknowledgement is in its history and
    goes out through the webhook."""
    return service.acknowledge(app, user.actor, alert_id, app.now(), body.note)


@router.post("/alerts/evaluate", summary="Evaluate the warning rules now and send what is due")
def evaluate(app: AppDep, user: Admin, at: Moment | None = None) -> dict[str, Any]:
    """What the scheduler does every minute, on demand: rules applied at ``at`` (default now),
    alerts opened and resolved, due outbox messages sent to the webhook."""
    moment = app.moment(at)
    changed = service.evaluate(app, moment, actor=user.actor.username)
    # the outbox runs on the real clock (retries are due in wall time), whatever time was evaluated
    return {**changed, "delivery": service.deliver(app, app.now())}
