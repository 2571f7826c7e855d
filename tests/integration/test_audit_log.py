"""District staff read the audit log in words: actions and fields labelled, objects by name with a
link, Beijing time, a compact diff, filters in words, by organisation and dates, and an export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from market.admin import labels
from market.admin.services import diff
from market.audit import record
from market.extensions import db
from models.users import Role
from tests.conftest import recorded_statements

UTC = dt.UTC


def _entry(actor, action, object_type, object_id, at, before=None, after=None):
    e = record(actor, action, None, before, after, object_type=object_type, object_id=object_id)
    e.at = at
    return e


def _visible(html: str) -> str:
    """The text a reader sees: tags, attributes and scripts stripped."""
    body = html.split("<main", 1)[1].split("</main>", 1)[0]
    return re.sub(r"<[^>]+>", " ", body)


def _rows(client, query: str = "") -> list[str]:
    resp = client.get("/admin/audit" + query)
    assert resp.status_code == 200
    return [a for a in re.findall(r'data-action="([^"]+)"', resp.get_data(as_text=True)) if a != "auth.login"]


def test_filters_in_words_by_organisation_and_dates(client, login, make_user, make_org):
    reviewer = make_user(role=Role.DISTRICT_REVIEWER, email="rev@ccxq.gov.cn")
    org = make_org(name="长春光谱科技", ref="S1")
    sme = make_user(role=Role.ORG_ADMIN, email="boss@sme.cn", org=org)
    other = make_user(role=Role.ORG_ADMIN, email="x@other.cn")
    _entry(reviewer, "org.verify", "organisation", "S1", dt.datetime(2026, 3, 1, 2, tzinfo=UTC),
           {"verification_status": "pending"}, {"verification_status": "verified"})
    _entry(sme, "listing.publish", "listing", "L7", dt.datetime(2026, 3, 1, 17, tzinfo=UTC))  # 3-02 01:00 in Beijing
    _entry(sme, "ledger.record", "ledger_entry", "E1", dt.datetime(2026, 3, 4, tzinfo=UTC))
    _entry(other, "ledger.confirm", "ledger_entry", "E2", dt.datetime(2026, 3, 4, 1, tzinfo=UTC))
    _entry(other, "org.edit", "organisation", str(other.organisation_id), dt.datetime(2026, 3, 5, tzinfo=UTC), {"name": "旧名"}, {"name": "新名"})
    db.session.commit()
    login(reviewer)

    assert len(_rows(client)) == 5
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "2026-03-01 10:00" in page  # Beijing time
    # typing 付款 finds the payment actions (label table, reader's language), not the others
    assert sorted(_rows(client, "?action=付款")) == ["ledger.confirm", "ledger.record"]
    assert _rows(client, "?action=认证") == ["org.verify"]
    assert sorted(_rows(client, "?action=ledger.")) == ["ledger.confirm", "ledger.record"]
    assert _rows(client, "?action=org.edit") == ["org.edit"]
    assert _rows(client, "?action=没有这种操作") == []
    # in English, English words find them
    assert sorted(_rows(client, "?action=payment&lang=en")) == ["ledger.confirm", "ledger.record"]
    # by organisation: the organisation itself, its listings, its members' actions
    assert sorted(_rows(client, "?organisation=光谱")) == ["ledger.record", "listing.publish", "org.verify"]
    assert _rows(client, "?actor=rev@") == ["org.verify"]
    # days are Beijing calendar days: 17:00 UTC on 1 March is 2 March in Changchun
    assert _rows(client, "?date_from=2026-03-02&date_to=2026-03-02") == ["listing.publish"]
    assert _rows(client, "?date_from=2026-03-10&date_to=2026-03-20") == []
    # a bad date is ignored with an error shown, not a 500; a date outside the window too
    page = client.get("/admin/audit?date_from=yesterday&action=org.verify").get_data(as_text=True)
    assert "is-invalid" in page and _rows(client, "?date_from=yesterday&action=org.verify") == ["org.verify"]
    assert "is-invalid" in client.get("/admin/audit?date_from=1900-01-01").get_data(as_text=True)


def test_entries_read_in_words_with_names_links_and_a_compact_diff(client, login, make_user, make_org):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    org = make_org(name="长春光谱科技")
    long_text = "很长的说明" * 40
    _entry(admin, "org.edit", "organisation", str(org.id), dt.datetime(2026, 3, 5, tzinfo=UTC),
           {"name": "旧名", "kind": "sme", "description": "短", "idempotency_key": "k-1", "size": "small"},
           {"name": "长春光谱科技", "kind": "sme", "description": long_text, "idempotency_key": "k-2", "size": "micro",
            "evidence_json": {"filename": "凭证.pdf", "sha256": "ab" * 32}})
    db.session.commit()
    login(admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    text = _visible(html)
    assert "修改机构资料" in text and "org.edit" not in text
    assert f'机构 <a href="/orgs/admin/{org.id}">长春光谱科技</a>' in html
    assert f"organisation #{org.id}" not in text and "organisation" not in text
    assert "名称" in text and '<del class="text-danger">旧名</del>' in html and '<ins class="text-success">长春光谱科技</ins>' in html
    assert "小型" in text and "微型" in text  # values in words
    assert "idempotency_key" not in text and "k-1" not in text  # internals hidden
    assert "机构类型" not in text  # unchanged fields are left out
    assert "<details" in html and long_text in html  # a long value folded
    assert "audit-json" in html and "凭证.pdf" in text and '{"filename"' not in html  # JSON as a table


def test_names_resolved_with_one_query_per_object_type(client, login, make_user, make_org, app):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    orgs = [make_org() for _ in range(6)]
    for i, o in enumerate(orgs):
        _entry(admin, "org.verify", "organisation", str(o.id), dt.datetime(2026, 3, 5, i, tzinfo=UTC))
    db.session.commit()
    login(admin)
    client.get("/admin/audit")  # warm up the session and templates
    with recorded_statements() as statements:
        html = client.get("/admin/audit").get_data(as_text=True)
    assert all(o.name in html for o in orgs)
    assert sum("FROM organisation" in s and "audit_entry" not in s for s in statements) <= 2  # names (+ the user's own)


def test_names_in_changes_cost_one_query_per_kind(client, login, make_user, make_org, app):
    """Changes that name organisations and people by id are shown by name without a query per id."""
    admin = make_user(role=Role.DISTRICT_ADMIN)
    orgs = [make_org() for _ in range(6)]
    for i, o in enumerate(orgs):
        _entry(admin, "subsidy_claim.approve", "subsidy_claim", str(100 + i), dt.datetime(2026, 3, 5, i, tzinfo=UTC),
               {"status": "filed"}, {"status": "approved", "organisation_id": o.id, "decided_by_id": admin.id})
    db.session.commit()
    login(admin)
    client.get("/admin/audit")
    shown = [f"{o.name} (#{o.id})" for o in orgs]
    db.session.expunge_all()  # nothing already in the session's identity map: every name must be read
    from flask import g

    g.pop("audit_names", None)  # (the tests' requests share one app context: the warm-up's names are not kept)
    with recorded_statements() as statements:
        html = client.get("/admin/audit").get_data(as_text=True)
    assert all(name in html for name in shown)
    assert sum("FROM organisation" in s and "audit_entry" not in s for s in statements) <= 2
    assert sum('FROM "user"' in s and "audit_entry" not in s for s in statements) <= 3  # the session's user, names


def test_demo_world_shows_no_raw_codes(client, login, make_user):
    from market.demo import load_demo

    load_demo()
    from models.audit import AuditEntry

    entries = db.session.query(AuditEntry).all()
    assert entries
    admin = make_user(role=Role.DISTRICT_ADMIN)
    login(admin)
    text = " ".join(_visible(client.get(f"/admin/audit?page={p}").get_data(as_text=True)) for p in (1, 2))
    for e in entries:
        assert e.action not in text
        for key in list(e.before or {}) + list(e.after or {}):
            assert not re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", text), key
    assert "listing #" not in text and "ledger_entry" not in text
    assert "载入演示条目" in text


def test_people_rules_and_statuses_read_as_words(client, login, make_user, make_org):
    """The log showed 审批人 "— → 3", a claim's "noticed → finalised" and "art7_renter", and a synonym group's terms as
    合同条款."""
    admin = make_user(role=Role.DISTRICT_ADMIN)
    admin.name = "王主任"
    sme = make_org(name="长春慧医科技有限公司")
    _entry(admin, "subsidy_claim.finalise", "subsidy_claim", "7", dt.datetime(2026, 3, 5, tzinfo=UTC),
           {"status": "noticed", "rule": "art7_renter", "organisation_id": sme.id, "decided_by_id": None},
           {"status": "finalised", "rule": "art7_renter", "organisation_id": sme.id, "decided_by_id": admin.id})
    _entry(admin, "search.synonym_edit", "search_synonym", "3", dt.datetime(2026, 3, 6, tzinfo=UTC),
           {"terms": ["电镜"]}, {"terms": ["电镜", "电子显微镜"]})
    _entry(admin, "event.agenda_compute", "event", "2", dt.datetime(2026, 3, 7, tzinfo=UTC),
           {"status": "planned", "agenda_method": None, "agenda_greedy_total": None},
           {"status": "call_for_scenarios", "agenda_method": "lp", "agenda_greedy_total": 22.249999999999996})
    db.session.commit()
    login(admin)
    text = _visible(client.get("/admin/audit").get_data(as_text=True))
    assert "已列入拨付名单" in text and "公示期满" in text and "王主任 (#" in text
    assert "noticed" not in text and "art7_renter" not in text
    assert "场景征集" in text and "线性规划" in text and "22.25" in text
    assert "call_for_scenarios" not in text and "22.2499" not in text
    rows = list(csv.reader(io.StringIO(client.get("/admin/audit/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    changes = {r[2]: r[4] for r in rows[1:]}
    assert any("同义词: 电镜 → 电镜、电子显微镜" in c for c in changes.values()), changes
    assert not any("合同条款" in c or "finalised" in c for c in changes.values()), changes
    page = client.get("/admin/audit?date_from=2026-03-06&date_to=2026-03-01").get_data(as_text=True)
    assert "截止日期不能早于起始日期" in page


def test_export_of_the_filtered_view(client, login, make_user):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    _entry(admin, "ledger.record", "ledger_entry", "E1", dt.datetime(2026, 3, 4, tzinfo=UTC), None, {"amount_cny": "20000.00"})
    _entry(admin, "org.verify", "organisation", "S9", dt.datetime(2026, 3, 4, 2, tzinfo=UTC))
    db.session.commit()
    login(admin)
    resp = client.get("/admin/audit/export.csv?action=付款")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["时间", "操作人", "操作", "对象", "变更"]
    assert len(rows) == 2 and rows[1][2] == "记录付款" and rows[1][0].startswith("2026-03-04 08:00")
    assert "金额" in rows[1][4] and "20000.00" in rows[1][4]
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        resp = client.get(f"/admin/audit/export.{fmt}?action=付款")
        assert resp.status_code == 200 and resp.data.startswith(magic)
    assert client.get("/admin/audit/export.exe").status_code == 404


def test_pagination(client, login, make_user):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    for i in range(55):
        record(admin, "test.bulk", None, object_type="thing", object_id=i)
    db.session.commit()
    login(admin)
    first = client.get("/admin/audit?action=test.bulk").get_data(as_text=True)
    second = client.get("/admin/audit?action=test.bulk&page=2").get_data(as_text=True)
    assert first.count('data-action="test.bulk"') == 50
    assert second.count('data-action="test.bulk"') == 5
    assert "1 / 2" in first and "共 55 条记录" in first


def test_members_cannot_see_the_audit_log(client, login, make_user):
    login(make_user(role=Role.ORG_ADMIN))
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403


def test_diff_rows():
    rows = diff({"a": 1, "b": "x", "c": [1]}, {"a": 2, "b": "x", "d": {"k": "值"}})
    assert [(r.key, r.status) for r in rows] == [("a", "changed"), ("c", "removed"), ("d", "added"), ("b", "same")]
    assert labels.ACTIONS["ledger.record"] == "记录付款"


def test_state_changes_are_audited_in_the_same_transaction(app_ctx, make_user):
    """A rolled-back change leaves no audit entry behind (the entry is in the caller's transaction)."""
    from models.audit import AuditEntry

    user = make_user()
    record(user, "test.rolled_back", user)
    db.session.rollback()
    assert db.session.query(AuditEntry).filter_by(action="test.rolled_back").count() == 0
