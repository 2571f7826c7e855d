"""District staff browse the audit log: filters, pagination, readable before/after."""

from __future__ import annotations

import datetime as dt

from market.admin.services import diff
from market.audit import record
from market.extensions import db
from models.audit import AuditEntry
from models.users import Role


def _entry(actor, action, object_type, object_id, at, before=None, after=None):
    e = record(actor, action, None, before, after, object_type=object_type, object_id=object_id)
    e.at = at
    return e


def test_filters_and_diff(client, login, make_user):
    reviewer = make_user(role=Role.DISTRICT_REVIEWER, email="rev@ccxq.gov.cn")
    sme = make_user(role=Role.ORG_ADMIN, email="boss@sme.cn")
    utc = dt.UTC
    _entry(reviewer, "org.verify", "organisation", "S1", dt.datetime(2026, 3, 1, 2, tzinfo=utc), {"verification_status": "pending"}, {"verification_status": "verified"})
    _entry(sme, "listing.publish", "listing", "L7", dt.datetime(2026, 3, 1, 17, tzinfo=utc))  # 3-02 01:00 in Beijing
    _entry(sme, "org.edit", "organisation", "S1", dt.datetime(2026, 3, 5, tzinfo=utc), {"name": "旧名"}, {"name": "新名"})
    db.session.commit()
    login(reviewer)

    def rows(query: str) -> str:
        resp = client.get("/admin/audit" + query)
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    page = rows("")
    assert page.count("<code>org.") == 2 and "<code>listing.publish</code>" in page
    assert "2026-03-01 10:00" in page  # shown in Beijing time
    page = rows("?actor=rev@")
    assert "<code>org.verify</code>" in page and "<code>org.edit</code>" not in page and "<code>listing.publish</code>" not in page
    page = rows("?action=org.")
    assert "<code>org.verify</code>" in page and "<code>org.edit</code>" in page and "<code>listing.publish</code>" not in page
    page = rows("?action=org.edit")
    assert "<code>org.verify</code>" not in page and "<code>org.edit</code>" in page
    page = rows("?object_type=organisation&object_id=S1")
    assert "<code>org.verify</code>" in page and "<code>org.edit</code>" in page and "<code>listing.publish</code>" not in page
    # days are Beijing calendar days: 17:00 UTC on 1 March is 2 March in Changchun
    page = rows("?date_from=2026-03-02&date_to=2026-03-02")
    assert "<code>listing.publish</code>" in page and "<code>org.verify</code>" not in page and "<code>org.edit</code>" not in page
    page = rows("?date_from=2026-03-10&date_to=2026-03-20")
    assert "没有符合条件的记录" in page
    # a bad date is ignored with an error shown, not a 500
    page = rows("?date_from=yesterday&action=org.verify")
    assert "<code>org.verify</code>" in page and "<code>org.edit</code>" not in page
    assert "is-invalid" in page
    # before/after as a diff
    page = rows("?action=org.edit")
    assert '<del class="text-danger">旧名</del>' in page and '<ins class="text-success">新名</ins>' in page


def test_pagination(client, login, make_user):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    for i in range(55):
        record(admin, "test.bulk", None, object_type="thing", object_id=i)
    db.session.commit()
    login(admin)
    first = client.get("/admin/audit?action=test.bulk").get_data(as_text=True)
    second = client.get("/admin/audit?action=test.bulk&page=2").get_data(as_text=True)
    assert first.count("<code>test.bulk</code>") == 50
    assert second.count("<code>test.bulk</code>") == 5
    assert "1 / 2" in first and "共 55 条记录" in first


def test_members_cannot_see_the_audit_log(client, login, make_user):
    login(make_user(role=Role.ORG_ADMIN))
    assert client.get("/admin/audit").status_code == 403


def test_diff_rows():
    rows = diff({"a": 1, "b": "x", "c": [1]}, {"a": 2, "b": "x", "d": {"k": "值"}})
    assert [(r.key, r.status) for r in rows] == [("a", "changed"), ("c", "removed"), ("d", "added"), ("b", "same")]
    assert rows[2].after == '{"k": "值"}'
    assert diff(None, None) == []
    created = diff(None, {"title": "冷冻电镜", "budget_cny": None, "tags": [], "note": ""})
    assert [(r.key, r.status) for r in created] == [("title", "added")]  # empty fields of a new record left out


def test_state_changes_are_audited_in_the_same_transaction(app_ctx, make_user):
    """A rolled-back change leaves no audit entry behind (the entry is in the caller's transaction)."""
    user = make_user()
    record(user, "test.rolled_back", user)
    db.session.rollback()
    assert db.session.query(AuditEntry).filter_by(action="test.rolled_back").count() == 0
