"""An OpenAPI that tells the truth: every operation declares its success response and each problem
it can answer, as ``application/problem+json`` with the ``Problem`` schema (RFC 9457), so a client
generated from ``/openapi.json`` handles the errors too. Schemathesis holds the server to it
(``tests/e2e/test_fuzz.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from commutepass.kit.problems import PROBLEM

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; ``detail`` in English, ``detail_zh`` in Chinese.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "detail_zh": {"type": "string"},
        "field": {"type": "string", "description": "The input field at fault"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "retry_after": {"type": "integer", "description": "Seconds to wait (also the Retry-After header)"},
        "problems": {
            "type": "array",
            "description": "An uploaded policy version's every problem, with its line and field",
            "items": {
                "type": "object",
                "properties": {
                    "line": {"type": ["integer", "null"]},
                    "field": {"type": "string"},
                    "en": {"type": "string"},
                    "zh": {"type": "string"},
                },
            },
        },
    },
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the request again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
WHY = {
    "400": "The request cannot be read (a malformed body)",
    "401": "Not signed in, or the session has ended",
    "403": "This role may not do this, or this person is not yours to see",
    "404": "Nothing at this address",
    "405": "This method is not allowed here",
    "413": "The body is too large",
    "415": "The body's media type is not accepted",
    "422": "Invalid input: what and where (``field``), in English and Chinese",
    "429": "Too many failed sign-ins: wait ``Retry-After`` seconds",
    "503": "The store is unavailable for a moment: retry after ``Retry-After`` seconds",
}
EXTRA: dict[tuple[str, str], set[str]] = {
    ("post", "/v1/auth/token"): {"401", "429"},
    ("post", "/v1/loads/{kind}"): {"413", "415"},
}
SUCCESS_CONTENT: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/v1/applications/{application_id}/documents/{sha256}"): {
        media: {"schema": {"type": "string", "format": "binary"}}
        for media in ("application/pdf", "image/jpeg", "image/png")
    },
    ("get", "/v1/trust/revocations/filter"): {
        "application/cose": {"schema": {"type": "string", "format": "binary"}},
    },
}
_REVOCATION_HEADERS = {
    name: {"description": what, "required": True, "schema": {"type": "integer", "minimum": 0}}
    for name, what in (
        ("X-Revocations-Version", "The version of the list this filter brings the caller to"),
        ("X-Revocations-Since", "The version the filter starts after (the ``since`` asked for)"),
        ("X-Revocations-Count", "Revoked codes in the whole list at this version"),
        ("X-Revocations-Added", "Revoked codes in this filter (added after ``since``)"),
    )
}
SUCCESS_HEADERS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/v1/trust/revocations/filter"): _REVOCATION_HEADERS,
    ("post", "/v1/checks"): {
        "Idempotent-Replayed": {
            "description": "``true`` when this answers a retry of an ``Idempotency-Key`` already "
            "recorded (the check was decided again, not recorded again)",
            "schema": {"type": "string", "enum": ["true"]},
        }
    },
}


def _problem(code: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": WHY.get(code, "A problem"),
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if code in ("429", "503"):
        answer["headers"] = RETRY_AFTER
    return answer


def truthful(api: FastAPI) -> dict[str, Any]:
    schema = get_openapi(title=api.title, version=api.version, description=api.description, routes=api.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            codes = {"503"}
            if operation.get("parameters") or operation.get("requestBody"):
                codes |= {"422"}
            if operation.get("requestBody"):
                codes |= {"400"}
            if operation.get("security"):
                codes |= {"401", "403"}
            if "{" in path:
                codes |= {"404"}
            codes |= EXTRA.get((method, path), set())
            for code in [c for c in responses if c[0] in "45"]:
                codes.add(code)
            for code in sorted(codes):
                responses[code] = _problem(code)
            ok = next(c for c in responses if c.startswith("2"))
            if (method, path) in SUCCESS_CONTENT:
                responses[ok]["content"] = SUCCESS_CONTENT[(method, path)]
            if (method, path) in SUCCESS_HEADERS:
                responses[ok]["headers"] = SUCCESS_HEADERS[(method, path)]
    return schema


def install(api: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = truthful(api)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
