"""Backup and restore of a whole installation: the store (SQLite through its online backup API,
so the server may keep running; PostgreSQL through ``pg_dump``/``pg_restore``), the secret file,
the signing keys, the travel lake and the application documents, with a manifest of SHA-256
sums that a restore checks first. After a restore ``audit verify`` passes and the data are the
same (tests/integration/test_backup.py, on both stores)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from commutepass.domain.errors import InputError
from commutepass.kit.security import SECRET_FILE
from commutepass.kit.settings import Settings
from commutepass.store.db import make_engine

MANIFEST = "manifest.json"
SQLITE_FILE = "commutepass.db"
PG_DUMP_FILE = "commutepass.pgdump"


def _folders(settings: Settings) -> dict[str, Path]:
    """The folders kept in a backup, by their name in it: keys, documents, the lake."""
    data = settings.data_dir
    return {
        "credentials": data / "credentials",
        "documents": data / "documents",
        "lake": settings.resolved_lake_dir(),
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (which goes in PGPASSWORD, not on the command line)."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str, *args: str, env: dict[str, str]) -> None:
    binary = shutil.which(name, path=os.environ.get("COMMUTEPASS_PG_BINDIR") or None) or shutil.which(name)
    if binary is None:
        raise InputError(
            "store",
            f"{name} is not installed (PostgreSQL client tools)",
            f"未安装 {name}（PostgreSQL 客户端工具）",
        )
    done = subprocess.run([binary, *args], capture_output=True, text=True, env=env, check=False, timeout=3600)
    if done.returncode != 0:
        raise InputError(
            "store",
            f"{name} failed: {done.stderr.strip()[-500:]}",
            f"{name} 执行失败：{done.stderr.strip()[-500:]}",
        )


def backup(settings: Settings, target: Path) -> dict[str, Any]:
    """Write a backup into the empty (or new) folder ``target``; returns the manifest."""
    if target.exists() and any(target.iterdir()):
        raise InputError(
            "out", f"{target} is not empty: give a new folder", f"{target} 不是空文件夹：请指定新文件夹"
        )
    target.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url()
    kind = make_url(url).get_backend_name()
    if kind == "sqlite":
        source = sqlite3.connect(str(make_url(url).database))
        try:
            with sqlite3.connect(str(target / SQLITE_FILE)) as copy:
                source.backup(copy)  # online: a consistent copy while the server keeps writing
        finally:
            source.close()
    elif kind == "postgresql":
        libpq, env = _libpq(url)
        _tool("pg_dump", "--format=custom", "--no-owner", f"--file={target / PG_DUMP_FILE}", libpq, env=env)
    else:
        raise InputError("store", f"cannot back up a {kind} store", f"无法备份 {kind} 数据库")
    data = settings.data_dir
    if (data / SECRET_FILE).is_file():
        shutil.copy2(data / SECRET_FILE, target / SECRET_FILE)
    for name, source_dir in _folders(settings).items():
        if source_dir.is_dir():
            shutil.copytree(source_dir, target / name)
    files = {
        str(p.relative_to(target)): _sha256(p)
        for p in sorted(target.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    manifest = {
        "kind": "commutepass.backup.v1",
        "store": kind,
        "created_at": datetime.now(UTC).isoformat(),
        "secret_included": (target / SECRET_FILE).is_file(),
        "files": files,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return {**manifest, "folder": str(target), "files": len(files)}


def _manifest(source: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(
            "from",
            f"{source} holds no readable {MANIFEST}: not a backup",
            f"{source} 中没有可读的 {MANIFEST}：不是备份",
        ) from None
    for name, digest in manifest.get("files", {}).items():
        path = source / name
        if not path.is_file() or _sha256(path) != digest:
            raise InputError(
                "from", f"{path} is missing or changed since the backup", f"{path} 缺失或在备份后被改动"
            )
    return manifest


def _store_in_use(url: str) -> bool:
    engine = make_engine(url)
    try:
        return "alembic_version" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore(settings: Settings, source: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore the backup in ``source`` into the store and data directory of ``settings``.
    Refuses a store that already holds an installation unless ``force``."""
    manifest = _manifest(source)
    url = settings.resolved_database_url()
    kind = make_url(url).get_backend_name()
    if manifest.get("store") != kind:
        raise InputError(
            "store",
            f"the backup is of a {manifest.get('store')} store, the target is {kind}",
            f"备份来自 {manifest.get('store')} 数据库，目标为 {kind}",
        )
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    fresh = kind == "sqlite" and not Path(str(make_url(url).database)).exists()
    if not fresh and _store_in_use(url) and not force:
        raise InputError(
            "store",
            "the target store already holds an installation: give --force to replace it",
            "目标数据库已有数据：如需覆盖请加 --force",
        )
    if kind == "sqlite":
        target = Path(str(make_url(url).database))
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(str(source / SQLITE_FILE)) as copy, sqlite3.connect(str(target)) as live:
            copy.backup(live)
    else:
        libpq, env = _libpq(url)
        _tool(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            f"--dbname={libpq}",
            str(source / PG_DUMP_FILE),
            env=env,
        )
    if (source / SECRET_FILE).is_file():
        shutil.copy2(source / SECRET_FILE, data / SECRET_FILE)
        os.chmod(data / SECRET_FILE, 0o600)
    for name, destination in _folders(settings).items():
        if (source / name).is_dir():
            shutil.rmtree(destination, ignore_errors=True)
            shutil.copytree(source / name, destination)
    return {
        "restored": str(source),
        "store": kind,
        "created_at": manifest.get("created_at"),
        "files": len(manifest["files"]),
    }
