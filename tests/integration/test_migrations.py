"""The Alembic migrations build exactly the models' schema, and come back down, on SQLite and PostgreSQL.

Tests build their schema with ``create_all``; this test is what keeps the migrations honest. It
names no revision, so it holds whatever revisions ``migrations/versions`` contains.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from market import create_app
from market.extensions import db
from models.base import Base
from tools import with_pg_database as pg_tool


@contextmanager
def _fresh_sqlite(tmp_path):
    yield f"sqlite:///{tmp_path / 'migrated.db'}"


@contextmanager
def _fresh_postgres():
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("PostgreSQL run only (TEST_DATABASE_URL=postgresql+psycopg://...)")
    url = make_url(base)
    name = f"{url.database}_mig_{uuid.uuid4().hex[:8]}"
    server = url.set(drivername="postgresql").render_as_string(hide_password=False)  # libpq's form, for psycopg
    with psycopg.connect(server, autocommit=True) as admin:  # the same create and drop as the test databases
        pg_tool.create_throwaway(admin, name)
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            pg_tool.drop(admin, name)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres_only)])
def test_upgrade_matches_models_and_downgrade_to_base(backend, tmp_path):
    fresh = _fresh_sqlite(tmp_path) if backend == "sqlite" else _fresh_postgres()
    with fresh as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            try:
                upgrade()
                with db.engine.connect() as conn:
                    tables = set(inspect(conn).get_table_names())
                    assert set(Base.metadata.tables) <= tables
                    context = MigrationContext.configure(conn, opts={"compare_type": True})
                    drift = compare_metadata(context, Base.metadata)
                assert drift == [], f"models and migrations differ; run `flask --app market db migrate`: {drift}"

                downgrade(revision="base")
                with db.engine.connect() as conn:
                    assert set(inspect(conn).get_table_names()) <= {"alembic_version"}

                upgrade()  # and back up again: the downgrade left nothing in the way
                with db.engine.connect() as conn:
                    assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
            finally:
                db.session.remove()
                db.engine.dispose()


@pytest.mark.postgres_only
def test_postgresql_guards_come_with_the_migrations():
    """What autogenerate cannot see is in the revision too: the booking exclusion constraint and the
    ledger's append-only triggers exist after `db upgrade` and are gone after the downgrade."""
    with _fresh_postgres() as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            try:
                upgrade()
                with db.engine.connect() as conn:
                    constraints = set(conn.execute(text(
                        "SELECT conname FROM pg_constraint WHERE contype = 'x'")).scalars())
                    triggers = set(conn.execute(text(
                        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
                assert "booking_no_overlap" in constraints
                assert {"ledger_entry_guard", "ledger_event_guard", "ledger_chain_guard"} <= triggers
                downgrade(revision="base")
                with db.engine.connect() as conn:
                    left = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
                assert not left
            finally:
                db.session.remove()
                db.engine.dispose()


def test_organisation_facts_are_back_filled_from_todays_values(tmp_path):
    """Revision a3f1c2d4e5b6: existing organisations get their history (unverified until verified_at)."""
    url = f"sqlite:///{tmp_path / 'backfill.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        try:
            upgrade(revision="7d6765696bb2")
            insert = text(
                "INSERT INTO organisation (id, name, uscc, kind, in_district, size, verification_status, verified_at, "
                "created_at, updated_at) VALUES (:id, :name, :uscc, 'sme', 1, 'small', :status, :verified_at, "
                "'2026-01-05 00:00:00', '2026-01-05 00:00:00')"
            )
            with db.engine.begin() as conn:
                conn.execute(insert, {"id": 1, "name": "甲", "uscc": "A" * 18, "status": "verified",
                                      "verified_at": "2026-02-01 00:00:00"})
                conn.execute(insert, {"id": 2, "name": "乙", "uscc": "B" * 18, "status": "pending", "verified_at": None})
            upgrade()
            with db.engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT organisation_id, valid_from, valid_to, verified, size FROM organisation_facts "
                    "ORDER BY organisation_id, valid_from")).all()
            assert [(r[0], str(r[1])[:10], r[2] and str(r[2])[:10], bool(r[3]), r[4]) for r in rows] == [
                (1, "2026-01-05", "2026-02-01", False, "small"),
                (1, "2026-02-01", None, True, "small"),
                (2, "2026-01-05", None, False, "small"),
            ]
        finally:
            db.session.remove()
            db.engine.dispose()
