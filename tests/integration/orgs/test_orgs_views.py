"""The organisation pages: registration, queue, approve/reject, admin list and detail, edit, import."""

import io
import json

import pytest
from sqlalchemy import select

from market.extensions import db
from market.orgs.uscc import make_valid_uscc
from models.organisations import Organisation
from models.users import Role, User

from .conftest import PDF

XSS = "<script>alert(1)</script>公司"


def register_data(**over):
    data = {
        "name": "长春测试科技有限公司", "uscc": make_valid_uscc(31337).lower(), "kind": "sme", "address": "长春新区",
        "in_district": "y", "industry": "software_it", "employees": "50", "revenue_cny": "20000000",
        "admin_name": "赵经理", "admin_email": "zhao@example.cn", "password": "Strong2026pw", "password2": "Strong2026pw",
        "licence": (io.BytesIO(PDF), "执照.pdf"),
    }
    data.update(over)
    return data


def test_register_page_creates_pending_org_and_mails_the_confirmation(client):
    assert "机构注册" in client.get("/orgs/register").get_data(as_text=True)
    resp = client.post("/orgs/register", data=register_data(), content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    org = db.session.execute(select(Organisation)).scalar_one()
    assert org.uscc == make_valid_uscc(31337)  # typed in lower case, normalised by the form
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "我们已向 zhao@example.cn 发送了一封邮件" in page
    assert client.get(f"/orgs/{org.id}").status_code == 404  # not logged in: the pending profile is hidden


def test_register_shows_field_errors_and_saves_nothing(client):
    bad_uscc = make_valid_uscc(31337)[:17] + "0"
    resp = client.post("/orgs/register", data=register_data(uscc=bad_uscc), content_type="multipart/form-data")
    assert resp.status_code == 200 and "第 18 位应为" in resp.get_data(as_text=True)
    resp = client.post("/orgs/register", data=register_data(licence=(io.BytesIO(b"MZ\x90\x00exe"), "x.pdf")),
                       content_type="multipart/form-data")
    assert "不支持的文件类型" in resp.get_data(as_text=True)
    resp = client.post("/orgs/register", data=register_data(password="weak", password2="weak"), content_type="multipart/form-data")
    assert "至少需要" in resp.get_data(as_text=True)
    assert db.session.execute(select(Organisation)).first() is None
    assert db.session.execute(select(User)).first() is None


def test_the_size_classification_reads_in_english(client, login, make_user, make_org):
    """An SME registering in English was told "…：Industry figures needed: 软件和信息技术服务业（工信部联企业〔2011〕300号）：缺少
    营业收入，无法划型。"; the district admin's detail page showed the classification in Chinese too."""
    data = register_data(revenue_cny="")
    page = client.post("/orgs/register?lang=en", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "(工信部联企业〔2011〕300号): missing Revenue, so the size cannot be classified." in page
    assert "缺少" not in page and "无法划型" not in page
    org = make_org(kind="sme", industry="software_it", employees=50, revenue_cny=20_000_000)
    login(make_user(role=Role.DISTRICT_ADMIN))
    detail = client.get(f"/orgs/admin/{org.id}?lang=en").get_data(as_text=True)
    shown = detail[detail.index('id="org-classification"'):][:600]
    assert "Employees 50 people, Revenue 2000 ×10,000 CNY; meets the small-enterprise thresholds" in shown, shown
    assert "达到" not in shown
    assert "从业人员 50 人、营业收入 2000 万元；达到小型标准" in client.get(f"/orgs/admin/{org.id}").get_data(as_text=True)


def test_register_shows_every_field_s_problem_in_one_round(client, make_org):
    taken = make_org()
    db.session.commit()
    data = register_data(uscc=taken.uscc, password="weak", password2="weak", industry="", employees="")
    page = client.post("/orgs/register", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "已注册" in page and "至少需要" in page and "以便划型" in page  # code, password and size at once
    assert db.session.execute(select(Organisation).where(Organisation.uscc != taken.uscc)).first() is None


def test_pending_profile_is_hidden_from_the_public(client, make_org):
    org = make_org(verified=False)
    assert client.get(f"/orgs/{org.id}").status_code == 404
    ok = make_org(name=XSS)
    page = client.get(f"/orgs/{ok.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;公司" in page and XSS not in page
    assert 'data-status="verified"' in page


def test_queue_approve_and_reject(client, login, make_user, make_org):
    reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    pending = make_org(verified=False, name=XSS)
    other = make_org(verified=False)
    login(reviewer)
    queue = client.get("/orgs/review").get_data(as_text=True)
    assert "&lt;script&gt;" in queue and XSS not in queue and other.name in queue
    nav = client.get("/").get_data(as_text=True)
    assert "机构审核" in nav and "机构管理" in nav
    detail = client.get(f"/orgs/admin/{pending.id}").get_data(as_text=True)
    assert "&lt;script&gt;" in detail and XSS not in detail
    assert client.post(f"/orgs/admin/{pending.id}/approve", data={}).status_code == 302
    assert db.session.get(Organisation, pending.id).is_verified
    client.post(f"/orgs/admin/{other.id}/reject", data={"reject-reason": "执照过期"})
    other = db.session.get(Organisation, other.id)
    assert other.verification_status == "rejected" and other.rejection_reason == "执照过期"
    detail = client.get(f"/orgs/admin/{other.id}").get_data(as_text=True)
    assert "执照过期" in detail and 'data-action="rejected"' in detail


def test_reject_without_reason_changes_nothing(client, login, make_user, make_org):
    login(make_user(role=Role.DISTRICT_REVIEWER))
    org = make_org(verified=False)
    resp = client.post(f"/orgs/admin/{org.id}/reject", data={"reject-reason": ""})
    assert resp.status_code == 422 and "请填写不通过的理由" in resp.get_data(as_text=True)  # said on the form
    assert db.session.get(Organisation, org.id).verification_status == "pending"


def test_org_members_cannot_reach_district_pages(client, login, make_user, make_org):
    user = make_user(role=Role.ORG_ADMIN)
    target = make_org(verified=False)
    login(user)
    for url in ("/orgs/review", "/orgs/admin", f"/orgs/admin/{target.id}", "/orgs/groups", "/orgs/admin/import", "/orgs/admin/export.csv"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/orgs/admin/{target.id}/approve").status_code == 403
    assert db.session.get(Organisation, target.id).verification_status == "pending"
    assert client.get(f"/orgs/{user.organisation_id}/licence").status_code == 404  # own org, no licence file
    assert client.get(f"/orgs/{target.id}/licence").status_code == 403


def test_anonymous_is_sent_to_login(client, make_org):
    org = make_org()
    resp = client.get("/orgs/admin")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert client.get(f"/orgs/{org.id}/edit").status_code == 302


def test_admin_list_filters_and_pagination(client, login, make_user, make_org):
    login(make_user(role=Role.DISTRICT_ADMIN))
    for n in range(30):
        make_org(kind="sme", name=f"甲{n:02d}", size="micro" if n % 2 else "small", in_district=n % 3 != 0)
    make_org(kind="university", name="某某大学", size=None, verified=False)
    page1 = client.get("/orgs/admin?kind=sme").get_data(as_text=True)
    assert "共 30 个机构" in page1 and "1 / 2" in page1 and "某某大学" not in page1
    page2 = client.get("/orgs/admin?kind=sme&page=2").get_data(as_text=True)
    assert "甲29" in page2 and "甲00" not in page2
    assert "共 15 个机构" in client.get("/orgs/admin?size=micro").get_data(as_text=True)
    assert "共 10 个机构" in client.get("/orgs/admin?district=0").get_data(as_text=True)
    only_pending = client.get("/orgs/admin?status=pending").get_data(as_text=True)
    assert "共 1 个机构" in only_pending and "某某大学" in only_pending


def test_size_override_from_detail_page(client, login, make_user, make_org):
    login(make_user(role=Role.DISTRICT_ADMIN))
    org = make_org(industry="software_it", employees=50, revenue_cny=20_000_000, size="small", size_source="classified")
    # without a reason: refused on the form, which keeps the chosen size (it went back to "恢复按标准划型")
    resp = client.post(f"/orgs/admin/{org.id}/size", data={"size-size": "medium", "size-reason": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "请填写调整理由" in page and '<option selected value="medium">' in page
    assert db.session.get(Organisation, org.id).size == "small"
    client.post(f"/orgs/admin/{org.id}/size", data={"size-size": "medium", "size-reason": "合并口径"})
    org = db.session.get(Organisation, org.id)
    assert org.size == "medium" and org.size_override_reason == "合并口径"
    page = client.get(f"/orgs/admin/{org.id}").get_data(as_text=True)
    assert "人工调整规模" in page and "合并口径" in page and "按标准：小型" in page


def test_org_admin_edits_own_profile_and_is_reclassified(client, login, make_user, make_org):
    org = make_org(industry="software_it", employees=50, revenue_cny=20_000_000, size="small", size_source="classified")
    admin = make_user(role=Role.ORG_ADMIN, org=org)
    login(admin)
    resp = client.post(f"/orgs/{org.id}/edit", data={"english_name": "Test", "address": "新区 2 号", "industry": "software_it",
                                                      "employees": "120", "revenue_cny": "30000000"})
    assert resp.status_code == 302
    org = db.session.get(Organisation, org.id)
    assert (org.english_name, org.address, org.size) == ("Test", "新区 2 号", "medium")
    other = make_org()
    assert client.get(f"/orgs/{other.id}/edit").status_code == 403
    resp = client.post(f"/orgs/{org.id}/edit", data={"industry": "software_it", "employees": "-5", "revenue_cny": "1"})
    assert resp.status_code == 200 and db.session.get(Organisation, org.id).employees == 120


def test_import_page_lists_errors_or_imports(client, login, make_user):
    login(make_user(role=Role.DISTRICT_REVIEWER))
    good = json.dumps({"ref": "A1", "name": XSS, "uscc": make_valid_uscc(99), "kind": "sme", "size": "small"}, ensure_ascii=False)
    bad = json.dumps({"ref": "A2", "name": "x", "uscc": "123", "kind": "sme", "size": "small"})
    resp = client.post("/orgs/admin/import", data={"file": (io.BytesIO(f"{good}\n{bad}\n".encode()), "o.jsonl")},
                       content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert "line 2: uscc: 统一社会信用代码应为 18 位" in text and "没有导入任何数据" in text
    assert db.session.execute(select(Organisation)).first() is None
    resp = client.post("/orgs/admin/import", data={"file": (io.BytesIO(f"{good}\n".encode()), "o.jsonl")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    listing = client.get("/orgs/admin").get_data(as_text=True)
    assert "&lt;script&gt;" in listing and XSS not in listing
    csv_text = client.get("/orgs/admin/export.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeffref,name,uscc") and "A1" in csv_text


def test_groups_pages(client, login, make_user, make_org):
    login(make_user(role=Role.DISTRICT_REVIEWER))
    a = make_org(ref="GA")
    resp = client.post("/orgs/groups", data={"name": "光华集团", "basis": "group", "note": ""})
    assert resp.status_code == 302
    group_url = resp.headers["Location"]
    client.post(group_url, data={"org": "GA"})
    assert db.session.get(Organisation, a.id).group.name == "光华集团"
    page = client.get(group_url).get_data(as_text=True)
    assert a.name in page
    assert "找不到该机构" in client.post(group_url, data={"org": "NOPE"}).get_data(as_text=True)
    group_id = db.session.get(Organisation, a.id).group_id
    client.post(f"/orgs/groups/{group_id}/remove/{a.id}")
    assert db.session.get(Organisation, a.id).group is None


@pytest.mark.parametrize("role", [Role.SME_MEMBER, Role.ORG_ADMIN])
def test_member_nav_links_to_own_org(client, login, make_user, role):
    user = make_user(role=role)
    login(user)
    nav = client.get("/").get_data(as_text=True)
    assert "我的机构" in nav and "机构审核" not in nav
    assert client.get("/orgs/mine").headers["Location"].endswith(f"/orgs/{user.organisation_id}")


def test_the_review_page_says_when_the_admins_email_is_unconfirmed(client, login, make_user, make_org):
    """Reviewers see a new organisation at once; whether its admin has confirmed the e-mail did not show."""
    org = make_org(verified=False)
    waiting = make_user(role=Role.ORG_ADMIN, org=org)
    waiting.email_confirmed_at = None  # (the column's default fills a None given at creation)
    db.session.commit()
    confirmed = make_user(role=Role.ORG_ADMIN, org=org)
    login(make_user(role=Role.DISTRICT_REVIEWER))
    html = client.get(f"/orgs/admin/{org.id}").get_data(as_text=True)
    assert f'data-unconfirmed="{waiting.id}"' in html and f'data-unconfirmed="{confirmed.id}"' not in html
