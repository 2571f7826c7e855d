"""Passwords are stored as argon2id hashes, never as text; production uses the full-cost hasher."""

from __future__ import annotations

from argon2 import PasswordHasher

from market.auth import passwords
from market.extensions import db
from models.users import User
from tests.conftest import PASSWORD


def test_password_is_stored_as_an_argon2id_hash(app_ctx, make_user):
    user = make_user()
    stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert passwords.verify_password(stored, PASSWORD)
    assert not passwords.verify_password(stored, PASSWORD + "x")
    assert not passwords.verify_password("not a hash", PASSWORD)


def test_only_tests_use_the_cheap_hasher(app):
    defaults = PasswordHasher()
    assert passwords._production.time_cost == defaults.time_cost >= 3
    assert passwords._production.memory_cost == defaults.memory_cost >= 64 * 1024
    with app.app_context():
        app.config["PASSWORD_HASH_FAST"] = False
        try:
            assert passwords._hasher() is passwords._production
        finally:
            app.config["PASSWORD_HASH_FAST"] = True
    from market.config import CONFIGS

    fast = {env for env, config in CONFIGS.items() if getattr(config, "PASSWORD_HASH_FAST", False)}
    assert fast == {"testing"}
