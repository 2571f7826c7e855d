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


def test_postgresql_connections_prepare_no_statements():
    """psycopg prepares a query from its fifth run; PostgreSQL may then plan it without its values (a
    generic plan), which scanned a year of the ledger for one organisation's sheet. PostgreSQL URLs get
    ``prepare_threshold=None``; the other options stay; SQLite gets no driver argument it would refuse."""
    pg = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none", "SEARCH_WARM": False})
    options = pg.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"] == {"prepare_threshold": None} and options["pool_pre_ping"] is True
    lite = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SEARCH_WARM": False})
    assert "connect_args" not in lite.config["SQLALCHEMY_ENGINE_OPTIONS"]


def test_the_test_database_connection_prepares_nothing(app_ctx):
    from market.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL run only")
    assert db.session.connection().connection.dbapi_connection.prepare_threshold is None
