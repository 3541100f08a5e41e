"""Who may see which person, and the audited ways of looking: status, look-ups, evidence rows.

A citizen sees themself and the family members they added; a hotline operator looks a person up
only with a stated reason; a reviewer sees what a decision needs. Every look-up of someone
else's data is appended to the audit log in the same transaction as the read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from commutepass.accounts.service import household_of, people_of
from commutepass.domain.errors import Forbidden, InputError
from commutepass.domain.identity import ResidentId, mask_ids_in_text, parse_resident_id
from commutepass.domain.roles import Role
from commutepass.domain.workflows import require_reason
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.sessions import User
from commutepass.store import repositories as repo


def person_id_of(conn: Connection, app: App, resident: ResidentId) -> int | None:
    return repo.person_id_by_key(conn, app.vault.key(resident))


def check_citizen_may_see(conn: Connection, user: User, person_id: int | None) -> None:
    if user.role is Role.CITIZEN and (person_id is None or person_id not in people_of(conn, user)):
        raise Forbidden(
            "a citizen sees only themself and the family members they added",
            "市民只能查看本人及已添加的家人",
        )


def lookup_reason(user: User, reason: str | None, default: str) -> str:
    """Staff say why they look; a hotline operator must (the reason is audited)."""
    if user.role is Role.HOTLINE:
        return require_reason(reason or "")
    return mask_ids_in_text((reason or "").strip()[:1000]) or default


def authorise_lookup(
    app: App, user: User, id_number: str, at: datetime, reason: str | None, action: str
) -> None:
    """A citizen may look at themself or family only (else ``Forbidden``); a look at anyone
    else's data is audited as ``action``, with the reason."""
    resident = parse_resident_id(id_number)
    # a citizen's own look-up is not recorded; one of a family member is, with this reason
    why = lookup_reason(user, reason, "family member / 家人" if user.role is Role.CITIZEN else "review")
    with app.transaction() as conn:
        person_id = person_id_of(conn, app, resident)
        check_citizen_may_see(conn, user, person_id)
        if person_id is not None and person_id != user.person_id:
            audit.record(conn, app, user.actor, action, person_id, why, at=at.isoformat())


def household(app: App, user: User) -> list[tuple[int, str]]:
    """(person id, masked ID) of a citizen and the family members they added, self first."""
    with app.engine.connect() as conn:
        return [(person_id, masked_id(conn, person_id)) for person_id in household_of(conn, user)]


def masked_id(conn: Connection, person_id: int) -> str:
    return repo.masked_ids(conn, [person_id])[person_id]


def id_number_of(conn: Connection, app: App, person_id: int) -> str:
    """The raw number, decrypted from the vault, for services that must call ID-based code."""
    return app.vault.decrypt(repo.id_cipher(conn, person_id))


def require_person(person_id: int | None) -> int:
    if person_id is None:
        raise InputError("id_number", "nobody with this ID number is on record", "没有此身份证号的记录")
    return person_id


def household_labels(app: App, user: User) -> list[str]:
    """Masked IDs of a citizen and their family: whom they may apply or appeal for."""
    return [masked for _person_id, masked in household(app, user)]


def chosen_id_number(app: App, user: User, who: str, typed: str) -> str:
    """A citizen picks a household member (by position); staff type the applicant's ID number."""
    if user.role is not Role.CITIZEN:
        return typed.strip()
    with app.engine.connect() as conn:
        ids = household_of(conn, user)
        try:
            chosen = ids[int(who)]
        except (ValueError, IndexError):
            raise InputError("who", "choose yourself or a family member", "请选择本人或家人") from None
        return id_number_of(conn, app, chosen)
