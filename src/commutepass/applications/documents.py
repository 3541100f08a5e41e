"""Application documents: checked by content (PDF, JPEG, PNG), size-limited, stored once by their
SHA-256 under the data directory (``documents/ab/abcdef…``), written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from commutepass.domain.errors import InputError

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
DOCUMENT_KINDS = ("id_card", "work_proof", "residence_proof", "nat_proof", "other")

_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


@dataclass(frozen=True, slots=True)
class StoredDocument:
    sha256: str
    media_type: str
    size: int


def sniff(content: bytes) -> str:
    """The media type the bytes themselves show (a name or a header proves nothing)."""
    for magic, media_type in _SIGNATURES:
        if content.startswith(magic):
            return media_type
    raise InputError(
        "file",
        "is not a PDF, JPEG or PNG file (checked by its content)",
        "文件内容不是 PDF、JPEG 或 PNG",
    )


def check_kind(kind: str) -> str:
    if kind not in DOCUMENT_KINDS:
        raise InputError(
            "kind",
            f"'{kind}' is not one of {', '.join(DOCUMENT_KINDS)}",
            f"“{kind}”不是 {'、'.join(DOCUMENT_KINDS)} 之一",
        )
    return kind


def path_of(data_dir: Path, sha256: str) -> Path:
    return data_dir / "documents" / sha256[:2] / sha256


def store(data_dir: Path, content: bytes) -> StoredDocument:
    if not content:
        raise InputError("file", "is empty", "文件为空")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InputError(
            "file",
            f"is {len(content)} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes (5 MiB)",
            f"文件大小 {len(content)} 字节，超过上限 {MAX_DOCUMENT_BYTES} 字节（5 MiB）",
        )
    media_type = sniff(content)
    digest = hashlib.sha256(content).hexdigest()
    target = path_of(data_dir, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    return StoredDocument(digest, media_type, len(content))


def read(data_dir: Path, sha256: str) -> bytes:
    content = path_of(data_dir, sha256).read_bytes()
    if hashlib.sha256(content).hexdigest() != sha256:
        raise OSError(f"document {sha256} does not match its checksum on disk")
    return content
