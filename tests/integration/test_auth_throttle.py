"""Failed logins counted atomically; rate limits on login, registration, reset and the search API (issue 8, item 4)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from market.extensions import db
from models.users import User
from tests.conftest import PASSWORD


def _wrong(client, user):
    return client.post("/auth/login", data={"email": user.email, "password": "wrong-pass-1"})


def test_failures_are_counted_in_the_database_not_from_a_stale_copy(app, client, make_user):
    """Another worker's failures (committed behind this session's back) count: the counter is
    incremented by the database, so the last failure before the limit locks the account."""
    user = make_user()
    limit = app.config["LOGIN_MAX_FAILURES"]
    assert user.failed_logins == 0  # this session's copy
    with db.engine.begin() as conn:  # as if other workers had counted limit - 1 failures meanwhile
        conn.execute(update(User).where(User.id == user.id).values(failed_logins=limit - 1))
    _wrong(client, user)
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.locked_until is not None and user.failed_logins == 0
    resp = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 200 and client.get("/auth/account").status_code == 302


def test_each_failure_adds_exactly_one(app, client, make_user):
    user = make_user()
    for n in range(1, app.config["LOGIN_MAX_FAILURES"]):
        _wrong(client, user)
        db.session.expire_all()
        assert db.session.get(User, user.id).failed_logins == n
    assert db.session.get(User, user.id).locked_until is None


@pytest.mark.postgres_only
def test_thirty_parallel_wrong_passwords_lock_the_account(app, app_ctx, make_user):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("parallel transactions need PostgreSQL")
    user = make_user()
    email, n = user.email, 30
    barrier = threading.Barrier(n)
    statuses: list = [None] * n

    def attempt(i):
        client = app.test_client()
        barrier.wait()
        try:
            statuses[i] = client.post("/auth/login", data={"email": email, "password": f"wrong-pass-{i}"}).status_code
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            statuses[i] = repr(err)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [200] * n, statuses
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.locked_until is not None, f"not locked; counter at {user.failed_logins}"
    # and the right password is refused while the lock lasts
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert client.get("/auth/account").status_code == 302


# ---------------------------------------------------------------- rate limits


@pytest.fixture
def limits_on(app):
    """Turn the rate limits on with small values, on a fresh count."""
    limiter = app.extensions["market.limiter"]
    saved = {k: v for k, v in app.config.items() if k.startswith("RATELIMIT_") or k == "RATE_LIMITS_ENABLED"}
    limiter.reset()
    app.config["RATE_LIMITS_ENABLED"] = True
    yield app.config
    app.config.update(saved)
    limiter.reset()


def test_login_is_limited_per_account_with_a_clear_message(client, make_user, limits_on):
    limits_on["RATELIMIT_LOGIN_PER_ACCOUNT"] = "3 per minute"
    user, other = make_user(), make_user()
    for _ in range(3):
        assert _wrong(client, user).status_code == 200
    resp = client.post("/auth/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert resp.status_code == 429
    assert "请求过于频繁，请稍后再试" in resp.get_data(as_text=True)
    assert client.get("/auth/account").status_code == 302  # not logged in
    # in English too
    resp = client.post("/auth/login?lang=en", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 429 and "Too many requests" in resp.get_data(as_text=True)
    # another account from the same address is not held back by this one
    assert client.post("/auth/login", data={"email": other.email, "password": PASSWORD}).status_code == 302
    # the login page itself (GET) is not counted
    assert client.get("/auth/login").status_code in (200, 302)


def test_login_is_limited_per_ip_across_accounts(client, make_user, limits_on):
    limits_on["RATELIMIT_LOGIN_PER_IP"] = "4 per minute"
    for i in range(4):
        client.post("/auth/login", data={"email": f"nobody{i}@example.cn", "password": "wrong-pass-1"})
    assert client.post("/auth/login", data={"email": "x@example.cn", "password": "x"}).status_code == 429
    # another address still gets through
    resp = client.post("/auth/login", data={"email": "y@example.cn", "password": "x"}, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert resp.status_code == 200


def test_password_reset_is_limited_per_account(client, make_user, limits_on):
    limits_on["RATELIMIT_RESET_PER_ACCOUNT"] = "2 per hour"
    user = make_user()
    for _ in range(2):
        assert client.post("/auth/reset", data={"email": user.email}).status_code == 302
    assert client.post("/auth/reset", data={"email": user.email}).status_code == 429


def test_registration_is_limited_per_ip(client, limits_on):
    limits_on["RATELIMIT_REGISTER_PER_IP"] = "2 per hour"
    for i in range(2):
        assert client.post("/orgs/register", data={"admin_email": f"a{i}@example.cn"}).status_code == 200  # form errors
    assert client.post("/orgs/register", data={"admin_email": "a9@example.cn"}).status_code == 429
    assert client.get("/orgs/register").status_code == 200  # showing the form is not limited


def test_search_api_is_limited_per_ip_with_json(client, limits_on):
    limits_on["RATELIMIT_SEARCH_API_PER_IP"] = "3 per minute"
    for _ in range(3):
        assert client.get("/api/v1/search?q=x").status_code == 200
    resp = client.get("/api/v1/search?q=x")
    assert resp.status_code == 429 and resp.is_json
    assert resp.get_json()["error"]["message"] == "请求过于频繁，请稍后再试。"


def test_limits_are_off_in_the_test_configuration(app, client, make_user):
    assert app.config["RATE_LIMITS_ENABLED"] is False
    user = make_user()
    for _ in range(12):
        client.post("/auth/reset", data={"email": user.email})
    assert client.post("/auth/reset", data={"email": user.email}).status_code == 302
