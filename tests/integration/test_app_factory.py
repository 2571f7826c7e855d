"""The app factory: starts on a fresh clone, refuses production without a secret."""

from pathlib import Path

import pytest

from market import create_app


def test_fresh_instance_folder_is_created(tmp_path, monkeypatch):
    instance = tmp_path / "new" / "instance"
    monkeypatch.setenv("MARKET_INSTANCE_PATH", str(instance))
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert Path(app.instance_path) == instance and instance.is_dir()


def test_production_refuses_to_start_without_secret_key():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"MARKET_ENV": "production", "SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
