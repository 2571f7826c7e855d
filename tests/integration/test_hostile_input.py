"""Odd input never gives a 5xx (issue 8, item 9).

Every GET route of the app (``app.url_map``) is requested with hostile path and query values,
anonymously and as a district admin: parameters ``url_for`` treats specially (``endpoint``,
``_method``, ``_external``...), page numbers beyond any integer column, ids beyond 64 bits, dates in
year 0001 and 9999, NUL characters (PostgreSQL text cannot hold them). The answer may be 200, a redirect, 400, 403, 404 or 422, never 5xx.
"""

from __future__ import annotations

import datetime as dt

import pytest
from werkzeug.routing import IntegerConverter

from market.extensions import db
from market.notifications.services import notify
from market.search import services as search
from models.audit import AuditEntry
from models.listings import Listing
from models.users import Role

HUGE = "99999999999999999999"
DATE_NAMES = ("date_from", "date_to", "from", "to", "start", "end", "since", "until", "date", "day", "week", "month",
              "paid_at", "deadline", "start_at", "end_at", "at")
QUERIES = {
    "url_for keywords": {"endpoint": "x", "_method": "POST", "_external": "1", "_anchor": "x", "_scheme": "javascript",
                         "values": "x", "ref": "x", "q": "电镜"},
    "method": {"_method": "POST", "q": "电镜"},
    "huge page": {"page": HUGE},
    "huge numbers": {"page": "-" + HUGE, "per_page": HUGE, "year": HUGE, "org": HUGE, "id": HUGE, "unread": HUGE},
    "odd year": {"year": "0", "page": "0"},
    "year 1": dict.fromkeys(DATE_NAMES, "0001-01-01") | {"year": "1"},
    "year 9999": dict.fromkeys(DATE_NAMES, "9999-12-31") | {"year": "9999"},
    "year 9999 time": dict.fromkeys(DATE_NAMES, "9999-12-31T23:59"),
    "year 1 time": dict.fromkeys(DATE_NAMES, "0001-01-01T00:00"),
    "garbage": dict.fromkeys(("page", "q", "kind", "track", "status", "sort", "lang", "next", *DATE_NAMES), "\x00%ff'\"<>"),
}


def _seed(make_org, make_user):
    """Enough rows that every list page paginates (the pagination links are built from the query)."""
    admin = make_user(role=Role.DISTRICT_ADMIN)
    org = make_org(kind="university")
    for n in range(25):
        db.session.add(Listing(ref=f"H9{n:03d}", kind="instrument", owner=org, title=f"电镜{n}", description="扫描电镜",
                               status="published", published_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    for n in range(60):
        db.session.add(AuditEntry(actor_label="system", action="test.seed", object_type="listing", object_id=f"H9{n:03d}",
                                  at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    for _n in range(25):
        make_org(kind="sme")
    for _n in range(25):
        notify(admin, "test", "通知")
    db.session.commit()
    search.invalidate_synonyms()
    search.reindex()  # the search page shows results, facets and pagination links
    return admin


def _paths(app):
    """Each GET rule once with every int argument huge, and once with every argument 1 / "x"."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in ("static", "bootstrap.static"):
            continue
        ints = {a for a, c in rule._converters.items() if isinstance(c, IntegerConverter)}
        for fill in ("huge", "small", "nul"):
            if (fill == "huge" and not ints) or (fill == "nul" and not set(rule.arguments) - ints):
                continue
            values = {a: (HUGE if fill == "huge" else "1") if a in ints else ("x%00" if fill == "nul" else "x")
                      for a in rule.arguments}
            path = rule.rule
            for name, value in values.items():
                path = path.replace(f"<{name}>", value)
                for conv in ("int", "string", "path", "float"):
                    path = path.replace(f"<{conv}:{name}>", value)
            if "<" in path:  # any(...) converters: take the first choice
                import re

                path = re.sub(r"<any\(([^,)]+)[^>]*>", lambda m: m.group(1).strip(), path)
            yield path


@pytest.mark.parametrize("who", ["anonymous", "district_admin"])
def test_no_get_route_answers_5xx_to_hostile_input(app, client, login, make_org, make_user, who):
    admin = _seed(make_org, make_user)
    if who == "district_admin":
        login(admin)
    failures = []
    for path in _paths(app):
        for name, query in [("plain", {}), *QUERIES.items()]:
            status = _get(client, path, query)
            if not isinstance(status, int) or status >= 500:
                failures.append(f"{status} GET {path} [{name}]")
    assert not failures, "\n".join(failures)


def _get(client, path, query):
    """The status, or the exception (the test app re-raises unexpected errors instead of a 500 page)."""
    try:
        return client.get(path, query_string=query).status_code
    except Exception as err:  # noqa: BLE001 - every unexpected error is a finding
        db.session.rollback()
        return f"{type(err).__name__}: {str(err)[:120]}"


def test_out_of_range_ids_and_pages_are_404_with_a_message(client, make_org, make_user):
    _seed(make_org, make_user)
    assert client.get(f"/orgs/{HUGE}").status_code == 404
    assert client.get(f"/orgs/{2**31}").status_code == 404  # one past PostgreSQL's INTEGER
    resp = client.get("/listings/", query_string={"page": HUGE})
    assert resp.status_code == 404 and "页码超出范围" in resp.get_data(as_text=True)
    assert client.get("/listings/", query_string={"page": "2"}).status_code == 200


def test_pagination_links_keep_plain_parameters_only(client, make_org, make_user):
    _seed(make_org, make_user)
    resp = client.get("/listings/", query_string={"endpoint": "x", "_method": "POST", "_external": "1", "kind": "instrument"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "kind=instrument" in body and "page=2" in body
    assert "_method" not in body and "endpoint=x" not in body and "http://localhost/listings" not in body
    resp = client.get("/search/", query_string={"q": "电镜", "endpoint": "x", "_method": "POST"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "_method" not in body and "endpoint=x" not in body and "id=\"next-page\"" in body



def test_nul_characters_are_a_400(client, login, make_user):
    assert client.get("/listings/x%00").status_code == 400
    assert client.get("/search/", query_string={"q": "a\x00"}).status_code == 400
    login(make_user(role=Role.DISTRICT_ADMIN))
    resp = client.get("/orgs/admin", query_string={"q": "\x00"})
    assert resp.status_code == 400 and "NUL" in resp.get_data(as_text=True)
    resp = client.post("/listings/new/scenario", data={"title": "a\x00", "description": "b"})
    assert resp.status_code == 400
