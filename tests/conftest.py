"""Shared fixtures: an app on SQLite (default) or PostgreSQL (TEST_DATABASE_URL), a clean database
per test, factories for organisations and users, and a logged-in client helper.

The schema is created from the models once per session; `tests/integration/test_migrations.py`
proves the Alembic migrations produce exactly that schema.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

os.environ["MARKET_ENV"] = "testing"

from market import create_app  # noqa: E402
from market.auth.passwords import hash_password
from market.extensions import db
from models.base import Base
from models.organisations import Organisation, VerificationStatus
from models.users import Role, User
from tools import with_pg_database as pg_tool


def _scratch_files_in_memory() -> None:
    """Keep the tests' scratch files (the SQLite test database, the search index, evidence and mail
    folders, pytest's tmp_path) on the machine's tmpfs, /dev/shm, unless TMPDIR names a place already.

    Why: every commit on an SQLite file waits for fsync, 7-14 ms on this machine's disk against 0.2 ms
    on tmpfs, and the suite commits thousands of times. The files hold exactly what they would hold on
    disk (same SQLite, same SQL, same journal); only durability across a power cut differs, which no
    test observes."""
    shm = Path("/dev/shm")
    if os.environ.get("TMPDIR") or not (shm.is_dir() and os.access(shm, os.W_OK)):
        return
    os.environ["TMPDIR"] = str(shm)  # child processes (chromium, forked workers) too
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again; pytest's tmp_path asks it later


_scratch_files_in_memory()


def _database_of_this_worker() -> None:
    """Under pytest-xdist (`make test` runs two workers), give each worker a PostgreSQL database of its own,
    ``<TEST_DATABASE_URL's database>_<worker>``, made afresh here and dropped when the worker ends.

    Why: every test empties every table after itself and the session drops and creates the schema; two workers
    on one database would delete each other's rows. SQLite needs nothing: each worker's file is under its own
    temporary directory already."""
    url, worker = os.environ.get("TEST_DATABASE_URL"), os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker or not url.startswith("postgresql"):
        return
    from sqlalchemy import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    server = base.set(drivername="postgresql").render_as_string(hide_password=False)  # libpq's form, for psycopg
    with _admin(server) as admin:
        pg_tool.drop(admin, name)
        pg_tool.create_throwaway(admin, name)
    os.environ["TEST_DATABASE_URL"] = base.set(database=name).render_as_string(hide_password=False)
    os.environ["MARKET_TEST_WORKER_DATABASE"] = name
    os.environ["MARKET_TEST_SERVER_URL"] = server


def _admin(server: str):
    import psycopg

    return psycopg.connect(server, autocommit=True)


def pytest_unconfigure(config):
    """Drop this worker's database (``_database_of_this_worker``) once its tests and fixtures are done."""
    name = os.environ.pop("MARKET_TEST_WORKER_DATABASE", None)
    if name:
        with _admin(os.environ["MARKET_TEST_SERVER_URL"]) as admin:
            pg_tool.drop(admin, name)


_database_of_this_worker()


PASSWORD = "Test2026pass"
_seq = itertools.count(1)


def _test_db_url(tmp: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp / 'test.db'}"


# ---------------------------------------------------------------- which tests run on both backends
# `make test` runs the suite twice: on SQLite, then on PostgreSQL (TEST_DATABASE_URL set). The second run
# exists to try the database code on the production backend, so it runs only the tests that can reach
# that database:
#   - every test that uses the session's `app` fixture (directly or through app_ctx, client, make_user,
#     site, search_index, ...): that app is the only one built on TEST_DATABASE_URL;
#   - every test marked `postgres_only`: those build their own PostgreSQL database from TEST_DATABASE_URL
#     (the migration tests' PostgreSQL variants) or need PostgreSQL's concurrency;
#   - but not a test marked `backend_neutral`: it stores a corpus only to judge the ranking on it (the search
#     relevance guards, several minutes each run on this 2-core machine); search's database code is tried on
#     PostgreSQL by the other search tests.
# Every other test (pure functions, parsers, matching/, apps of its own on an SQLite file or in memory)
# does exactly the same in both runs, so the PostgreSQL run deselects it; pytest reports them as
# "deselected" and the header says why. `--all-backends` (or MARKET_TEST_ALL_BACKENDS=1) runs them again.
DATABASE_FIXTURE = "app"


def pytest_addoption(parser):
    parser.addoption(
        "--all-backends", action="store_true", default=bool(os.environ.get("MARKET_TEST_ALL_BACKENDS")),
        help="on the PostgreSQL run, also run the tests that never reach the configured database",
    )


def reaches_configured_database(item) -> bool:
    """Whether ``item``'s outcome can depend on the backend named by TEST_DATABASE_URL: it uses the database
    fixture, or it is marked ``postgres_only`` (it builds a PostgreSQL database of its own). A test's SQLite
    parametrisation ran in the SQLite run already and is not repeated."""
    if item.get_closest_marker("backend_neutral") is not None:
        return False
    return DATABASE_FIXTURE in getattr(item, "fixturenames", ()) or item.get_closest_marker("postgres_only") is not None


def _second_backend_run(config) -> bool:
    return bool(os.environ.get("TEST_DATABASE_URL")) and not config.getoption("--all-backends")


def pytest_report_header(config):
    if _second_backend_run(config):
        return ("TEST_DATABASE_URL set: running only the tests that reach the database (the others ran on SQLite "
                "and are deselected here; --all-backends runs them too)")
    return None


def pytest_collection_modifyitems(config, items):
    if not _second_backend_run(config):
        return
    kept, once = [], []
    for item in items:
        (kept if reaches_configured_database(item) else once).append(item)
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = kept


@pytest.fixture(scope="session")
def _tmp_root():
    with tempfile.TemporaryDirectory(prefix="market-test-") as d:
        yield Path(d)


class _ClosingClient(FlaskClient):
    """A test client that finishes each response as a server would, so callbacks registered with
    ``response.call_on_close`` (the outbox drain after the response) run before the test looks."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


def drain_outbox():
    """Deliver what services queued (mail, index, alerts), as the scheduler would after the commit."""
    from market import outbox

    db.session.commit()
    return outbox.drain()


@contextlib.contextmanager
def recorded_statements():
    """The SQL statements the database is sent inside the block (a list, filled as they go): N+1 guards."""
    from sqlalchemy import event

    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def queued(topic: str, status: str | None = None) -> list[dict]:
    """The payloads of the outbox rows of ``topic`` (optionally in ``status``), oldest first."""
    from sqlalchemy import select

    from models.outbox import OutboxMessage

    stmt = select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return [row.payload for row in db.session.execute(stmt).scalars()]


@pytest.fixture(scope="session")
def app(_tmp_root):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": _test_db_url(_tmp_root),
            "SEARCH_INDEX_DIR": str(_tmp_root / "index"),
            "EVIDENCE_DIR": str(_tmp_root / "evidence"),
            "MAIL_FILE_DIR": str(_tmp_root / "mail"),
        }
    )
    app.test_client_class = _ClosingClient
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
    yield app
    with app.app_context():
        db.session.remove()
        Base.metadata.drop_all(db.engine)
        db.engine.dispose()


def _clear_tables() -> None:
    """Empty every table. DELETE, not TRUNCATE: on PostgreSQL a TRUNCATE of every table costs ~1 s
    (new files per table), a DELETE of a few rows costs milliseconds. On PostgreSQL the ledger's
    append-only triggers are bypassed for the cleanup only (replica role: triggers stay off)."""
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app
        _clear_tables()


@pytest.fixture
def client(app, app_ctx):
    return app.test_client()


@pytest.fixture
def make_org(app_ctx):
    from market.orgs.uscc import make_valid_uscc

    def make(kind="sme", verified=True, **fields) -> Organisation:
        n = next(_seq)
        defaults = dict(
            ref=f"O{n}",
            name=f"测试机构{n}",
            uscc=make_valid_uscc(n),
            kind=kind,
            in_district=True,
            size="small" if kind == "sme" else None,
            verification_status=VerificationStatus.VERIFIED if verified else VerificationStatus.PENDING,
        )
        defaults.update(fields)
        org = Organisation(**defaults)
        db.session.add(org)
        db.session.commit()
        return org

    return make


@pytest.fixture
def make_user(app_ctx, make_org):
    def make(role=Role.SME_MEMBER, org=None, email=None, password=PASSWORD, **fields) -> User:
        n = next(_seq)
        if org is None and role not in (Role.DISTRICT_REVIEWER, Role.DISTRICT_ADMIN):
            org = make_org(kind="sme" if role == Role.SME_MEMBER else "leading_firm")
        user = User(
            email=email or f"user{n}@example.cn",
            name=f"用户{n}",
            password_hash=hash_password(password),
            role=role,
            organisation=org,
            **fields,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def login(client):
    """Log ``user`` in through the real login form; returns the client."""

    def do(user, password=PASSWORD):
        resp = client.post("/auth/login", data={"email": user.email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client

    return do
