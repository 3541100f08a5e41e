"""The hash chain itself: a clean chain verifies; each kind of tampering is named."""

from __future__ import annotations

import dataclasses

from commutepass.domain.audit import GENESIS, AuditEntry, canonical, chain_hash, entry_hash, verify_chain
from commutepass.feedback.service import redact

from .conftest import T

KEY = b"k" * 32


def chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        at = T("2021-11-20T08:00")
        body = canonical(at, "hotline-1", "hotline", "status.lookup", seq, "caller asked", "{}")
        digest = chain_hash(KEY, prev, seq, body)
        entries.append(
            AuditEntry(
                seq, at, "hotline-1", "hotline", "status.lookup", seq, "caller asked", "{}", prev, digest
            )
        )
        prev = digest
    return entries


def head(entries: list[AuditEntry]) -> tuple[int, str]:
    return entries[-1].seq, entries[-1].hash


def problems(entries: list[AuditEntry], recorded: tuple[int, str]) -> list[tuple[int, str]]:
    return [(f.seq, f.problem) for f in verify_chain(KEY, entries, recorded)]


def test_a_clean_chain_verifies() -> None:
    entries = chain(5)
    assert problems(entries, head(entries)) == []
    assert problems([], (0, GENESIS)) == []
    assert all(entry_hash(KEY, e) == e.hash for e in entries)


def test_an_edited_entry_is_found() -> None:
    entries = chain(5)
    recorded = head(entries)
    entries[2] = dataclasses.replace(entries[2], reason="nothing to see")
    assert problems(entries, recorded) == [(3, "edited")]


def test_a_deleted_entry_is_found() -> None:
    entries = chain(5)
    recorded = head(entries)
    del entries[1]
    assert problems(entries, recorded) == [(2, "deleted"), (3, "broken_link")]


def test_an_inserted_entry_is_found() -> None:
    entries = chain(5)
    recorded = head(entries)
    forged = dataclasses.replace(entries[1], actor="someone")
    entries.insert(2, forged)
    found = problems(entries, recorded)
    assert (2, "inserted_or_reordered") in found and (2, "edited") in found


def test_a_cut_tail_is_found_by_the_head_record() -> None:
    entries = chain(5)
    recorded = head(entries)
    assert problems(entries[:3], recorded) == [(3, "tail_cut")]


def test_rebuilding_the_chain_without_the_key_does_not_verify() -> None:
    entries = chain(3)
    forged_key = b"x" * 32
    first = verify_chain(forged_key, entries, head(entries))[0]
    assert (first.seq, first.problem) == (1, "edited")


def test_the_board_masks_id_and_phone_numbers() -> None:
    assert redact("ID 13108219900101012X and 13912345678") == (
        "ID ［证件号码已隐去 / ID number removed］ and ［手机号码已隐去 / phone number removed］"
    )
    # a number already masked when it was stored is removed too (it still points at someone)
    assert redact("ID 131***********012X") == "ID ［证件号码已隐去 / ID number removed］"
    assert redact("order 1234") == "order 1234"
