"""Secrets: the HMAC key that pseudonymises people, and the vault that encrypts raw ID numbers.

Raw ID numbers are never stored in plain text. People are keyed by HMAC-SHA256(number);
where the number itself must be kept (so the police who run the database can act on an
entry), it is encrypted with a key derived from the same secret (HKDF → Fernet).
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from commutepass.domain.identity import ResidentId, person_key

SECRET_FILE = "secret.key"


def load_or_create_secret(data_dir: Path, configured: str | None) -> bytes:
    if configured:
        return configured.encode("utf-8")
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    return value


class IdVault:
    """Pseudonymous keys and reversible encryption of ID numbers, from one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"commutepass id vault v1"
        ).derive(secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self._hmac_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"commutepass person key v1"
        ).derive(secret)

    def derive(self, purpose: bytes) -> bytes:
        """A 32-byte key for another purpose (signing-key encryption, pseudonyms), from the same secret."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(self._secret)

    def key(self, resident_id: ResidentId) -> str:
        return person_key(resident_id, self._hmac_key)

    def encrypt(self, resident_id: ResidentId) -> str:
        return self._fernet.encrypt(resident_id.number.encode("ascii")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise ValueError("the ID vault token does not open with this secret") from exc
