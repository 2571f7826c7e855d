"""argon2id password hashing (argon2-cffi) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

from market.errors import ValidationError

_production = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
_fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only

MIN_LENGTH = 10


def _hasher() -> PasswordHasher:
    return _fast if current_app.config.get("PASSWORD_HASH_FAST") else _production


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str, field: str = "password") -> None:
    """Refuse weak passwords: at least 10 characters mixing letters and digits."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(_("密码至少需要 %(n)d 个字符。", n=MIN_LENGTH), field)
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        raise ValidationError(_("密码需同时包含字母和数字。"), field)
    if password.lower() in {"password123", "abcdefg123", "qwerty12345", "1234567890a"}:
        raise ValidationError(_("这个密码太常见了，请换一个。"), field)
