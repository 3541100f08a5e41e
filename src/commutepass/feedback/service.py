"""The feedback message board (留言板): citizens post, staff reply. A citizen never sees another
citizen's identity, and ID or phone numbers in someone else's post are masked."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from commutepass.domain.clock import BEIJING
from commutepass.domain.errors import Forbidden, InputError
from commutepass.domain.identity import mask_ids_in_text
from commutepass.domain.roles import STAFF, Role
from commutepass.feedback import repository
from commutepass.kit.context import App
from commutepass.kit.sessions import User

MAX_BODY = 2000
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
ROLE_LABEL = {
    Role.HOTLINE.value: ("12345 热线", "12345 hotline"),
    Role.REVIEWER.value: ("公安审核", "police reviewer"),
    Role.ADMIN.value: ("管理员", "administrator"),
}


_MASKED_ID = re.compile(r"\d{3}\*{11}[\dXx]{4}")


def redact(text: str) -> str:
    """What another citizen sees: ID numbers and mobile numbers removed altogether (a masked
    number still shows the home county and four digits: enough to point at someone)."""
    without_ids = _MASKED_ID.sub("［证件号码已隐去 / ID number removed］", mask_ids_in_text(text))
    return _PHONE.sub("［手机号码已隐去 / phone number removed］", without_ids)


def _body(text: str) -> str:
    cleaned = mask_ids_in_text(text.strip())
    if not cleaned:
        raise InputError("body", "is empty", "留言内容为空")
    if len(cleaned) > MAX_BODY:
        raise InputError("body", f"is longer than {MAX_BODY} characters", f"超过 {MAX_BODY} 个字符")
    return cleaned


def post(app: App, user: User, body: str, *, parent_id: int | None = None) -> dict[str, Any]:
    text = _body(body)
    if parent_id is None and user.role is not Role.CITIZEN:
        raise Forbidden("citizens post; staff reply", "由市民留言，工作人员回复")
    if parent_id is not None and user.role not in STAFF:
        raise Forbidden("only staff reply on the board", "只有工作人员可以回复")
    with app.transaction() as conn:
        if parent_id is not None and not repository.is_top_post(conn, parent_id):
            raise InputError("post_id", f"no post {parent_id} to reply to", f"没有可回复的留言 {parent_id}")
        post_id = repository.add_post(conn, parent_id, user.id, text, app.now())
    return {"id": post_id, "parent_id": parent_id}


def _at(value: datetime) -> str:
    return value.astimezone(BEIJING).isoformat()


def board(app: App, user: User, *, limit: int = 100) -> list[dict[str, Any]]:
    """Newest posts first, each with its replies. Authors show as a number, never a name."""
    staff = user.role in STAFF
    with app.engine.connect() as conn:
        posts = repository.newest_posts(conn, limit)
        replies = repository.replies_to(conn, [p.id for p in posts])
    out = []
    for p in posts:
        own = p.author_id == user.id
        out.append(
            {
                "id": p.id,
                "author": "您 / you" if own else f"市民 / citizen #{p.id}",
                "body": p.body if own or staff else redact(p.body),
                "created_at": _at(p.created_at),
                "replies": [
                    {
                        "by": " / ".join(ROLE_LABEL.get(r.role, ("工作人员", "staff"))),
                        "body": r.body,
                        "created_at": _at(r.created_at),
                    }
                    for r in replies
                    if r.parent_id == p.id
                ],
            }
        )
    return out
