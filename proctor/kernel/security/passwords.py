"""Argon2 password hashing and initial-password generation."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from proctor.kernel.errors import InvalidInput

# No look-alikes (0/O, 1/l/I): initial passwords are read off a printed sheet.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"


class Passwords:
    """Hash and verify passwords with argon2id at the configured cost."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)

    def hash(self, password: str) -> str:
        """Hash a password for storage."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        """True when the password matches the stored hash."""
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def generate_initial_password(length: int = 10) -> str:
    """A random initial password with at least one digit, one lower and one upper letter."""
    while True:
        pw = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if (
            any(c.isdigit() for c in pw)
            and any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
        ):
            return pw


def check_new_password(password: str, *, username: str) -> None:
    """Refuse weak new passwords with a message the user can act on."""
    if len(password) < 8:
        raise InvalidInput("新密码至少需要 8 个字符", field="new_password")
    classes = sum(
        [
            any(c.isdigit() for c in password),
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3:
        raise InvalidInput(
            "新密码需包含大写字母、小写字母、数字、符号中的至少三类", field="new_password"
        )
    if username and username.lower() in password.lower():
        raise InvalidInput("新密码不能包含用户名", field="new_password")
