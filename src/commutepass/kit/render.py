"""Rendering a page: the template, the language, the signed-in user's navigation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.requests import Request

from commutepass.domain.errors import InputError
from commutepass.domain.regions import region_catalog
from commutepass.domain.roles import Role
from commutepass.kit.i18n import LANG_COOKIE, LANGS, TEXTS, lang_of, translator
from commutepass.kit.sessions import User

WEB = Path(__file__).parent.parent / "web"
templates = Jinja2Templates(directory=WEB / "templates")

NAV: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.CITIZEN: (
        ("/citizen", "nav.citizen"),
        ("/citizen/apply", "nav.apply"),
        ("/citizen/appeal", "nav.appeal"),
        ("/feedback", "nav.feedback"),
        ("/citizen/accesses", "nav.accesses"),
    ),
    Role.OFFICER: (("/checkpoint", "nav.checkpoint"), ("/checkpoint/apply", "nav.register")),
    Role.HOTLINE: (
        ("/hotline", "nav.hotline"),
        ("/family/pending", "nav.family"),
        ("/feedback", "nav.feedback"),
    ),
    Role.REVIEWER: (
        ("/reviewer", "nav.reviewer"),
        ("/family/pending", "nav.family"),
        ("/feedback", "nav.feedback"),
    ),
    Role.ADMIN: (
        ("/admin/risk", "nav.admin_risk"),
        ("/admin/policies", "nav.admin_policies"),
        ("/admin/users", "nav.admin_users"),
        ("/admin/jobs", "nav.admin_jobs"),
        ("/analyst", "nav.analyst"),
        ("/feedback", "nav.feedback"),
    ),
    Role.ANALYST: (("/analyst", "nav.analyst"),),
    Role.COMMUNITY: (("/community", "nav.community"),),
}
"""Each role's pages, in the order its menu shows them; the first is where sign-in lands."""


def _county_name(code: str) -> str:
    county = region_catalog().get(code)
    return county.full_name if county else code


def home_of(role: Role) -> str:
    return NAV[role][0][0]


def page(
    request: Request, name: str, status_code: int = 200, *, user: User | None = None, **context: Any
) -> HTMLResponse:
    lang = lang_of(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": translator(lang),
            "path": request.url.path,
            "user": user,
            "nav": NAV[user.role] if user else (),
            "role_name": lambda role: (
                TEXTS[f"role.{role}"][LANGS.index(lang)] if f"role.{role}" in TEXTS else role
            ),
            "county_name": _county_name,
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def error_of(exc: InputError, lang: str) -> dict[str, str]:
    return {"field": exc.field, "message": exc.zh if lang == "zh" else exc.en}


def local_path(target: str | None, default: str) -> str:
    """Only a path on this site (never another host) is a place to go back to after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
