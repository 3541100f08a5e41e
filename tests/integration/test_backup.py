"""Backup and restore on both stores: the store, the secret, the signing keys and the lake come
back; ``audit verify`` passes and the data are identical afterwards."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from commutepass.accounts import service as auth
from commutepass.checks.service import CheckRequest, check, status_of
from commutepass.commuters.service import lake_of
from commutepass.credentials import service as credentials
from commutepass.domain.decisions import Mode
from commutepass.domain.errors import InputError
from commutepass.domain.roles import Role
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from commutepass.loads.service import COLUMNS, load_file
from commutepass.oversight import backup
from tests.conftest import fresh_postgres_database, postgres_bindir
from tests.helpers import at, dump_database, make_id, write_csv

PERSON = make_id("131082", date(1986, 8, 8), 501)


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _fill(settings: Settings, tmp: Path) -> None:
    app = App.open(settings)
    try:
        auth.add_user(app, "desk-1", "plum river lantern", Role.OFFICER)
        trips = [(PERSON, "2021-11-27T07:10", "enter", "road", "白庙检查站", "131082")]
        load_file(app, "travel", write_csv(tmp / "travel.csv", COLUMNS["travel"], trips))
        lake_of(app)  # the travel rows exported to the lake, as identification does first
        check(app, CheckRequest(PERSON, at("2021-11-29T07:30"), "白庙检查站", Mode.ROAD))
        credentials.issue(
            app, auth.sign_in(app, "desk-1", "plum river lantern").user, PERSON, at("2021-11-29T07:30")
        )
    finally:
        app.close()


@pytest.fixture
def second_url(request: pytest.FixtureRequest, store_url: str, tmp_path: Path) -> object:
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'commutepass.db'}"
        return
    bindir = postgres_bindir()
    assert bindir is not None
    request.getfixturevalue("monkeypatch").setenv("COMMUTEPASS_PG_BINDIR", str(bindir))
    with fresh_postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url


def test_a_restored_installation_is_the_same_and_its_audit_verifies(
    store_url: str, second_url: str, tmp_path: Path
) -> None:
    original = Settings(data_dir=tmp_path / "live", database_url=store_url, password_hash_memory_kib=1024)
    _fill(original, tmp_path)
    folder = tmp_path / "backup"
    made = backup.backup(original, folder)
    assert made["secret_included"] is True and made["files"] >= 3
    with pytest.raises(InputError, match="not empty"):
        backup.backup(original, folder)

    restored = Settings(
        data_dir=tmp_path / "restored", database_url=second_url, password_hash_memory_kib=1024
    )
    backup.restore(restored, folder)
    before, after = App.open(original), App.open(restored)
    try:
        assert audit.verify(after).ok and audit.verify(after).entries == audit.verify(before).entries
        assert sorted(dump_database(after.engine).splitlines()) == sorted(
            dump_database(before.engine).splitlines()
        )
        assert (restored.data_dir / "secret.key").read_bytes() == (
            original.data_dir / "secret.key"
        ).read_bytes()
        assert _tree(restored.data_dir / "credentials") == _tree(original.data_dir / "credentials")
        assert _tree(restored.resolved_lake_dir()) == _tree(original.resolved_lake_dir())
        assert _tree(original.resolved_lake_dir()), "the lake had files to carry"
        moment = at("2021-11-29T08:00")
        assert status_of(after, PERSON, moment) == status_of(before, PERSON, moment)  # the vault still opens
        assert credentials.anchor_pem(after) == credentials.anchor_pem(before)
        assert auth.sign_in(after, "desk-1", "plum river lantern").user.username == "desk-1"
    finally:
        before.close()
        after.close()
    with pytest.raises(InputError, match="--force"):
        backup.restore(restored, folder)
    backup.restore(restored, folder, force=True)


def test_a_changed_backup_is_refused_before_anything_is_touched(store_url: str, tmp_path: Path) -> None:
    original = Settings(data_dir=tmp_path / "live", database_url=store_url, password_hash_memory_kib=1024)
    _fill(original, tmp_path)
    folder = tmp_path / "backup"
    backup.backup(original, folder)
    (folder / "secret.key").write_bytes(b"someone else's key")
    target = Settings(
        data_dir=tmp_path / "elsewhere", database_url=f"sqlite:///{tmp_path / 'elsewhere' / 'x.db'}"
    )
    with pytest.raises(InputError, match="changed since the backup"):
        backup.restore(target, folder)
    assert not (tmp_path / "elsewhere" / "secret.key").exists()
