"""Protection of identity numbers and phones: encryption, keyed hashes, masking.

A database dump alone reveals neither: the value is encrypted with a key that lives
outside the database (environment or key file), lookups go through an HMAC keyed with a
key derived from the same secret, and pages show a masked copy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


class PiiVault:
    """Encrypts, hashes and masks personal identifiers with one secret."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("PROCTOR_SECRET_KEY must be at least 16 characters")
        root = hashlib.sha256(secret.encode()).digest()
        enc_key = hmac.new(root, b"proctor-pii-encryption", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(enc_key))
        self._hash_key = hmac.new(root, b"proctor-pii-lookup", hashlib.sha256).digest()

    def encrypt(self, value: str) -> bytes:
        """Encrypt a value for storage."""
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        """Decrypt a stored value (only for those who need the full value)."""
        return self._fernet.decrypt(token).decode()

    def lookup_hash(self, value: str) -> str:
        """Keyed hash for equality lookups and the one-person-one-account constraint."""
        return hmac.new(self._hash_key, value.upper().encode(), hashlib.sha256).hexdigest()


def mask_id_number(value: str) -> str:
    """4301**********1234: region prefix and last four, as on government forms."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """138****5678."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def existing_secret(configured: str, data_dir: Path) -> str | None:
    """The configured secret, or the embedded key file's; None when there is neither."""
    if configured:
        return configured
    path = data_dir / "secret.key"
    return path.read_text().strip() if path.exists() else None


def load_or_create_secret(configured: str, data_dir: Path) -> str:
    """The configured secret, or the embedded key file (created once, owner-only)."""
    existing = existing_secret(configured, data_dir)
    if existing is not None:
        return existing
    path = data_dir / "secret.key"
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
