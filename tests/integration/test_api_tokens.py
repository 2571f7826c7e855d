"""API tokens: the UI and CLI create and revoke them; /api/v1/me; JSON errors with the right status."""

from __future__ import annotations

import re

import marshmallow as ma
import pytest
from flask_smorest import Blueprint
from sqlalchemy import select

from market import create_app
from market.api.auth import token_digest
from market.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.extensions import db
from models.audit import AuditEntry
from models.users import ApiToken, Role
from tests.conftest import recorded_statements


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_json_error(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.is_json
    body = resp.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_ui_creates_token_shown_once_and_me_returns_its_user(client, login, make_user):
    admin = make_user(role=Role.ORG_ADMIN)
    login(admin)
    page = client.post("/auth/tokens", data={"name": "ERP 对接"}).get_data(as_text=True)
    secret = re.search(r'id="token-secret"[^>]*>(ccxq_[\w-]+)<', page).group(1)
    token = db.session.execute(select(ApiToken)).scalar_one()
    assert token.token_sha256 == token_digest(secret) and secret not in token.token_sha256
    assert secret not in client.get("/auth/tokens").get_data(as_text=True)  # shown once only
    resp = client.get("/api/v1/me", headers=bearer(secret))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["email"] == admin.email and body["role"] == "org_admin"
    assert body["organisation"]["id"] == admin.organisation_id
    db.session.refresh(token)
    assert token.last_used_at is not None
    assert "api_token.created" in db.session.execute(select(AuditEntry.action)).scalars().all()


def test_revoked_token_is_refused_at_once(client, login, make_user):
    admin = make_user(role=Role.ORG_ADMIN)
    login(admin)
    page = client.post("/auth/tokens", data={"name": "t"}).get_data(as_text=True)
    secret = re.search(r"(ccxq_[\w-]+)", page).group(1)
    token = db.session.execute(select(ApiToken)).scalar_one()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert client.post(f"/auth/tokens/{token.id}/revoke").status_code == 302
    error = assert_json_error(client.get("/api/v1/me", headers=bearer(secret)), 401, "unauthorized")
    assert "撤销" in error["message"]
    # revoking twice says so and changes nothing
    resp = client.post(f"/auth/tokens/{token.id}/revoke", follow_redirects=True)
    assert "此令牌已被撤销" in resp.get_data(as_text=True)


def test_someone_elses_token_cannot_be_revoked(client, login, make_user):
    from market.auth.services import create_token

    owner = make_user(role=Role.ORG_ADMIN)
    token, _secret = create_token(owner, "mine")
    login(make_user(role=Role.ORG_ADMIN))
    assert client.post(f"/auth/tokens/{token.id}/revoke").status_code == 404
    db.session.refresh(token)
    assert token.revoked_at is None


def test_members_cannot_manage_tokens(client, login, make_user):
    login(make_user(role=Role.SME_MEMBER))
    assert client.get("/auth/tokens").status_code == 403
    assert client.post("/auth/tokens", data={"name": "x"}).status_code == 403
    assert db.session.execute(select(ApiToken)).first() is None


def test_cli_creates_and_revokes_tokens(app, client, make_user):
    user = make_user(role=Role.PROVIDER_MEMBER)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tokens", "create", "--user", user.email, "--name", "脚本"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("ccxq_")
    assert client.get("/api/v1/me", headers=bearer(secret)).get_json()["email"] == user.email
    listing = runner.invoke(args=["tokens", "list", "--user", user.email])
    assert "脚本" in listing.output and "active" in listing.output
    prefix = secret[:12]
    result = runner.invoke(args=["tokens", "revoke", prefix])
    assert result.exit_code == 0, result.output
    assert_json_error(client.get("/api/v1/me", headers=bearer(secret)), 401)
    actors = db.session.execute(select(AuditEntry.actor_label, AuditEntry.action)).all()
    assert ("cli", "api_token.created") in actors and ("cli", "api_token.revoked") in actors


def test_cli_refuses_unknown_user(app, app_ctx):
    result = app.test_cli_runner().invoke(args=["tokens", "create", "--user", "nobody@example.cn"])
    assert result.exit_code != 0
    assert "no user" in result.output
    assert db.session.execute(select(ApiToken)).first() is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer ccxq_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
    ],
    ids=["no-token", "bad-token", "wrong-scheme", "empty"],
)
def test_me_without_a_valid_token_is_401_json(client, headers):
    assert_json_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_token_of_deactivated_user_is_refused(client, make_user):
    from market.auth.services import create_token

    user = make_user(role=Role.ORG_ADMIN)
    _token, secret = create_token(user, "t")
    user.active = False
    db.session.commit()
    assert_json_error(client.get("/api/v1/me", headers=bearer(secret)), 401)


def test_unknown_api_path_and_wrong_method_are_json(client):
    assert_json_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_json_error(client.post("/api/v1/me"), 405)


# ------------------------------------------------------------ the error shape, status by status


class _Query(ma.Schema):
    n = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))


@pytest.fixture(scope="module")
def error_app(_tmp_root):
    """A separate app with a probe blueprint that raises each kind of error."""
    probe = Blueprint("probe", __name__, url_prefix="/api/v1/probe")

    @probe.route("/bad")
    def bad():
        from flask_smorest import abort

        abort(400, message="坏请求")

    @probe.route("/forbidden")
    def forbidden():
        raise PermissionDenied("不许")

    @probe.route("/missing")
    def missing():
        raise NotFound("没有")

    @probe.route("/conflict")
    def conflict():
        raise Conflict("冲突了")

    @probe.route("/invalid")
    def invalid():
        raise ValidationError("金额无效", "amount_cny")

    @probe.route("/args")
    @probe.arguments(_Query, location="query")
    @probe.response(200)
    def args(query):
        return {"n": query["n"]}

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{_tmp_root / 'errors.db'}"})
    app.extensions["market_api"].register_blueprint(probe)
    return app


@pytest.mark.parametrize(
    ("path", "status", "code", "message"),
    [
        ("bad", 400, "bad_request", "坏请求"),
        ("forbidden", 403, "forbidden", "不许"),
        ("missing", 404, "not_found", "没有"),
        ("conflict", 409, "conflict", "冲突了"),
        ("invalid", 422, "validation_error", "金额无效"),
    ],
)
def test_errors_have_status_and_shape(error_app, path, status, code, message):
    error = assert_json_error(error_app.test_client().get(f"/api/v1/probe/{path}"), status, code)
    assert error["message"] == message


def test_invalid_arguments_are_422_with_fields(error_app):
    client = error_app.test_client()
    assert client.get("/api/v1/probe/args?n=3").get_json() == {"n": 3}
    error = assert_json_error(client.get("/api/v1/probe/args?n=zero"), 422, "unprocessable_entity")
    assert "n" in error["fields"]["query"]


def test_a_burst_of_calls_writes_last_used_once(client, make_user):
    """Each API call must not cost a database write: last use is kept to the minute."""
    from market.auth.services import create_token

    owner = make_user(role=Role.ORG_ADMIN)
    _token, secret = create_token(owner, "burst")
    with recorded_statements() as statements:
        for _ in range(5):
            assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE API_TOKEN")]
    assert len(updates) == 1
