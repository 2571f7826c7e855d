"""The role x route matrix, derived from the app itself so that every route added later is covered.

1. Every endpoint declares its permission (``permission_required`` / ``token_required`` set
   ``required_action`` on the view); only static files and the OpenAPI document are exempt.
2. Every GET route without URL parameters is requested anonymously and as each of the five roles;
   the answer must be exactly what ``permissions.RULES`` says: allowed -> 200 (or a redirect that
   is not to the login page), denied -> 403, anonymous on a protected page -> 302 to the login
   page; API routes answer 401 JSON without a token and use bearer tokens for the roles.
"""

from __future__ import annotations

import re

import pytest

from market.auth.services import create_token
from market.extensions import db
from market.permissions import RULES
from market.web import PUBLIC
from models.users import Role

EXEMPT_ENDPOINTS = {"static", "bootstrap.static"}
EXEMPT_PREFIXES = ("api-docs.",)  # flask-smorest's OpenAPI document (and its UIs, if enabled)
ROLES = [Role.SME_MEMBER, Role.PROVIDER_MEMBER, Role.ORG_ADMIN, Role.DISTRICT_REVIEWER, Role.DISTRICT_ADMIN]


def _exempt(endpoint: str) -> bool:
    return endpoint in EXEMPT_ENDPOINTS or endpoint.startswith(EXEMPT_PREFIXES)


def _actions(view) -> dict[str, str | None]:
    """The declared action per HTTP method of a view (a function or a MethodView)."""
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return {
            m: getattr(getattr(view_class, m.lower(), None), "required_action", None)
            for m in (view_class.methods or ())
        }
    return {"*": getattr(view, "required_action", None)}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if not _exempt(rule.endpoint):
            yield rule, _actions(app.view_functions[rule.endpoint])


def _get_action(app, rule) -> str:
    actions = _actions(app.view_functions[rule.endpoint])
    return actions["*"] if "*" in actions else actions["GET"]


def test_every_route_declares_its_permission(app):
    missing = [
        f"{rule.rule} ({rule.endpoint}, {method})"
        for rule, actions in _routes(app)
        for method, action in actions.items()
        if action is None
    ]
    assert not missing, "routes without @permission_required/@token_required: " + ", ".join(missing)


def test_declared_actions_exist(app):
    unknown = {
        action
        for _rule, actions in _routes(app)
        for action in actions.values()
        if action not in (PUBLIC, "token", None) and action not in RULES
    }
    assert not unknown


def _parameterless_get_rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments and not _exempt(r.endpoint)),
        key=lambda r: r.rule,
    )


def test_matrix_covers_the_foundation_routes(app):
    covered = {r.rule for r in _parameterless_get_rules(app)}
    assert {"/", "/auth/login", "/auth/account", "/auth/members", "/auth/tokens", "/admin/audit", "/notifications/", "/api/v1/me"} <= covered


@pytest.fixture
def role_users(make_user, make_org):
    orgs = {Role.SME_MEMBER: make_org(kind="sme"), Role.PROVIDER_MEMBER: make_org(kind="leading_firm")}
    orgs[Role.ORG_ADMIN] = orgs[Role.PROVIDER_MEMBER]
    return {role: make_user(role=role, org=orgs.get(role)) for role in ROLES}


def _is_login_redirect(resp) -> bool:
    return resp.status_code == 302 and "/auth/login" in resp.headers.get("Location", "")


def _is_api(rule) -> bool:
    return rule.rule.startswith("/api/")


def _expected_ok(action: str, role: str | None) -> bool:
    if action in (PUBLIC,):
        return True
    if role is None:
        return False
    if action == "token":
        return True
    return role in RULES[action].roles


def test_role_route_matrix(app, client, role_users):
    failures = []
    rules = _parameterless_get_rules(app)
    assert rules
    secrets = {role: create_token(user, "matrix", actor="test")[1] for role, user in role_users.items()}
    db.session.commit()
    for rule in rules:
        action = _get_action(app, rule)
        api = _is_api(rule)
        for role in [None, *ROLES]:
            if api:
                headers = {"Authorization": f"Bearer {secrets[role]}"} if role else {}
                resp = client.get(rule.rule, headers=headers)
            else:
                with client.session_transaction() as sess:
                    sess.clear()
                    if role:
                        sess["_user_id"] = role_users[role].get_id()  # "id:session_version"
                        sess["_fresh"] = True
                resp = client.get(rule.rule)
            ok = _expected_ok(action, role)
            who = role or "anonymous"
            if ok:
                good = resp.status_code == 200 or (resp.status_code in (301, 302, 303) and not _is_login_redirect(resp))
            elif role is None:
                good = (resp.status_code == 401 and resp.is_json) if api else _is_login_redirect(resp)
            else:
                good = resp.status_code == 403
            if not good:
                failures.append(f"{rule.rule} [{action}] as {who}: {resp.status_code} {resp.headers.get('Location', '')}")
            elif resp.status_code == 200 and resp.mimetype == "text/html" and not _names_itself(resp):
                failures.append(f"{rule.rule} as {who}: its <title> is the site's name alone")
    assert not failures, "\n".join(failures)


def _names_itself(resp) -> bool:
    """A page's <title> says which page it is before the site's name (a browser tab, a bookmark, the history list):
    the subsidy pages once named a ``title`` block that the base template never read."""
    found = re.search(r"<title>(.*?)</title>", resp.get_data(as_text=True), re.S)
    return bool(found) and found.group(1).strip() != "长春新区开放场景平台"


def test_an_undeclared_route_would_be_caught():
    from flask import Flask

    from market.web import permission_required

    probe = Flask(__name__)
    probe.add_url_rule("/ok", "ok", permission_required(PUBLIC)(lambda: "ok"))
    probe.add_url_rule("/naked", "naked", lambda: "naked")
    undeclared = [rule.rule for rule, actions in _routes(probe) if None in actions.values()]
    assert undeclared == ["/naked"]
