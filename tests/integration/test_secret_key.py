"""No published key signs anything: production needs SECRET_KEY, development makes its own (issue 8, item 8)."""

from __future__ import annotations

import stat

import pytest
from flask.sessions import SecureCookieSessionInterface

from market import create_app
from market.extensions import db
from models.base import Base
from models.users import Role, User

PUBLISHED_DEV_KEY = "dev-only-not-secret"  # the key the source used to carry


def _dev_app(tmp_path, monkeypatch, **extra):
    monkeypatch.setenv("MARKET_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(
        {"MARKET_ENV": "development", "TESTING": False, "SECRET_KEY": None,
         "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'dev.db'}", **extra}
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    for key in (None, ""):
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app({"MARKET_ENV": "production", "SECRET_KEY": key, "SITE_URL": "https://m.example.cn",
                        "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_no_configuration_class_carries_a_key():
    import os

    from market.config import Config, DevelopmentConfig, ProductionConfig

    if not os.environ.get("SECRET_KEY"):
        assert Config.SECRET_KEY is None and DevelopmentConfig.SECRET_KEY is None and ProductionConfig.SECRET_KEY is None


def test_nothing_configured_refuses_to_start(tmp_path, monkeypatch):
    """MARKET_ENV unset and no SECRET_KEY: not the demo, so no key is invented (issue 8 item 8)."""
    monkeypatch.delenv("MARKET_ENV")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("MARKET_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(RuntimeError, match="make demo"):
        create_app({"TESTING": False, "SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_development_makes_a_private_random_key_per_instance(tmp_path, monkeypatch):
    app = _dev_app(tmp_path, monkeypatch)
    key = app.config["SECRET_KEY"]
    assert key and key != PUBLISHED_DEV_KEY and len(key) >= 32
    path = tmp_path / "instance" / "secret_key"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the same instance keeps its key (sessions survive a restart); another instance has another
    assert _dev_app(tmp_path, monkeypatch).config["SECRET_KEY"] == key
    assert _dev_app(tmp_path / "other", monkeypatch).config["SECRET_KEY"] != key


def test_explicit_secret_key_wins_and_writes_no_file(tmp_path, monkeypatch):
    app = _dev_app(tmp_path, monkeypatch, SECRET_KEY="s" * 40)
    assert app.config["SECRET_KEY"] == "s" * 40
    assert not (tmp_path / "instance" / "secret_key").exists()


def _forge(secret_key: str, data: dict) -> str:
    class Forger:
        def __init__(self, key):
            self.secret_key, self.config = key, {"SECRET_KEY_FALLBACKS": None}

    return SecureCookieSessionInterface().get_signing_serializer(Forger(secret_key)).dumps(data)


def test_cookie_forged_with_the_published_key_is_refused(tmp_path, monkeypatch):
    app = _dev_app(tmp_path, monkeypatch)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        admin = User(email="admin@example.cn", name="管理员", password_hash="x", role=Role.DISTRICT_ADMIN)
        db.session.add(admin)
        db.session.commit()
        ids = [str(admin.id), admin.get_id()]
    client = app.test_client()
    for user_id in ids:
        client.set_cookie("session", _forge(PUBLISHED_DEV_KEY, {"_user_id": user_id, "_fresh": True}))
        resp = client.get("/admin/audit")
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    # the same cookie signed with this instance's key does open the page: the refusal is the key's doing
    client.set_cookie("session", _forge(app.config["SECRET_KEY"], {"_user_id": ids[1], "_fresh": True}))
    assert client.get("/admin/audit").status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
