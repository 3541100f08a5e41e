"""The baseline of the HTTP check benchmark: an empty FastAPI endpoint, not part of the product.

``POST /v1/checks`` here reads the JSON body (the same bodies the real route gets) and answers a
fixed small JSON object, with nothing in between: no validation, no middleware, no store. It is
served like the product (``uvicorn``, the same workers, keep-alive, log level and no access log),
so the ratio of the two is what the product spends on top of the framework.

    uvicorn --factory empty_app:factory   (bench_checks.py starts it)
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

ANSWER = b'{"decision":"allow"}'


def factory() -> FastAPI:
    api = FastAPI()

    @api.post("/v1/checks")
    async def check(request: Request) -> Response:
        await request.body()
        return Response(ANSWER, media_type="application/json")

    @api.get("/health")
    async def health() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return api
