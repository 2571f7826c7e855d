"""Registration, verification, size override, related parties: services against the database."""

import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.errors import Conflict, PermissionDenied, ValidationError, ValidationErrors
from market.extensions import db
from market.notifications.mail import outbox
from market.orgs import services
from market.orgs.uscc import make_valid_uscc
from models.audit import AuditEntry
from models.notifications import Notification
from models.organisations import Organisation
from models.users import Role, User
from tests.conftest import drain_outbox

from .conftest import PNG


def audit_actions(obj_id=None):
    return [a.action for a in db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]


def test_register_creates_pending_org_admin_and_licence(app_ctx, registration, make_user, app):
    reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    org, user = services.register_organisation(registration())
    assert org.verification_status == "pending" and org.ref == org.uscc
    assert org.size == "small" and org.size_source == "classified"  # POLICY.md worked example
    assert user.role == Role.ORG_ADMIN and user.organisation_id == org.id and user.email == "boss@example.cn"
    from market import evidence

    assert evidence.file_matches(org.licence_sha256)
    assert [e.action for e in org.events] == ["registered"]
    assert "org.register" in audit_actions()
    note = db.session.execute(select(Notification).where(Notification.user_id == reviewer.id)).scalar_one()
    assert org.name in note.title


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"uscc": make_valid_uscc(424242)[:17] + "0"}, "uscc", "第 18 位应为"),
        ({"password": "short1"}, "password", "至少需要"),
        ({"password": "onlyletterspassword"}, "password", "字母和数字"),
        ({"kind": "bank"}, "kind", "机构类型无效"),
        ({"employees": -3}, "employees", "负数"),
        ({"industry": None}, "industry", "划型"),
        ({"licence": io.BytesIO(b"GIF89a not allowed")}, "licence", "不支持的文件类型"),
        ({"licence": None}, "licence", "营业执照"),
        ({"name": "=HYPERLINK(1)"}, "name", "公式"),
        ({"admin_email": "not-an-email"}, "admin_email", "邮箱"),
    ],
)
def test_registration_refuses_bad_input_and_saves_nothing(app_ctx, registration, fields, field, fragment):
    with pytest.raises(ValidationError) as err:
        services.register_organisation(registration(**fields))
    assert err.value.field == field and fragment in err.value.message
    assert db.session.execute(select(Organisation)).first() is None
    assert db.session.execute(select(User)).first() is None


def test_registration_names_every_wrong_field_at_once(app_ctx, registration):
    with pytest.raises(ValidationErrors) as err:
        services.register_organisation(registration(uscc=make_valid_uscc(424242)[:17] + "0", password="short1",
                                                    admin_email="not-an-email", licence=None))
    assert [p.field for p in err.value.problems] == ["uscc", "admin_email", "password", "licence"]
    assert err.value.field == "uscc" and "第 18 位应为" in err.value.message  # an edge showing one shows the first
    assert db.session.execute(select(Organisation)).first() is None


def test_licence_over_the_limit_is_refused(app_ctx, registration, monkeypatch):
    monkeypatch.setattr(services, "LICENCE_MAX_BYTES", 1024)
    with pytest.raises(ValidationError) as err:
        services.register_organisation(registration(licence=io.BytesIO(PNG + b"\0" * 2048)))
    assert err.value.field == "licence" and "大小上限" in err.value.message


def test_duplicate_uscc_is_refused_and_a_taken_email_creates_nothing(app_ctx, registration, make_org):
    org = make_org()
    with pytest.raises(ValidationError) as err:
        services.register_organisation(registration(uscc=org.uscc))
    assert err.value.field == "uscc" and "已注册" in err.value.message
    services.register_organisation(registration())
    db.session.commit()
    drain_outbox()
    outbox.clear()
    orgs = len(db.session.execute(select(Organisation)).all())
    # a taken e-mail is no error (that would tell who has an account): nothing is made, the owner is told
    assert services.register_organisation(registration(uscc=make_valid_uscc(555), admin_email="BOSS@example.cn")) is None
    db.session.commit()
    drain_outbox()
    assert len(db.session.execute(select(Organisation)).all()) == orgs
    assert [m["To"] for m in outbox] == ["boss@example.cn"] and "有人尝试用您的邮箱" in outbox[0].get_content()
    outbox.clear()


def test_university_needs_no_figures(app_ctx, registration):
    org, _ = services.register_organisation(registration(kind="university", industry=None, employees=None, revenue_cny=None))
    assert org.size is None


def test_approve_notifies_admins_and_audits(app_ctx, registration, make_user):
    reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    drain_outbox()
    outbox.clear()
    org, admin = services.register_organisation(registration())
    db.session.commit()
    drain_outbox()
    assert sorted(m["To"] for m in outbox) == sorted([reviewer.email, admin.email])  # told; asked to confirm
    outbox.clear()
    with pytest.raises(PermissionDenied):
        services.require_verified(org)
    services.approve(reviewer, org)
    db.session.commit()  # the test is the boundary: mail goes out after the commit
    assert org.is_verified and org.verified_at is not None
    services.require_verified(org)  # no longer raises
    note = db.session.execute(select(Notification).where(Notification.user_id == admin.id)).scalar_one()
    assert note.kind == "org.verified"
    drain_outbox()
    assert [m["To"] for m in outbox] == [admin.email]
    assert f"http://localhost:5000/orgs/{org.id}" in outbox[0].get_content()  # absolute, from the URL map
    assert org.events[-1].action == "verified" and org.events[-1].actor_id == reviewer.id
    assert "org.verify" in audit_actions()
    with pytest.raises(Conflict):
        services.approve(reviewer, org)


def test_reject_needs_a_reason_and_tells_the_org(app_ctx, registration, make_user):
    reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    org, admin = services.register_organisation(registration())
    with pytest.raises(ValidationError):
        services.reject(reviewer, org, "  ")
    services.reject(reviewer, org, "营业执照模糊，无法辨认")
    assert org.verification_status == "rejected" and org.rejection_reason == "营业执照模糊，无法辨认"
    with pytest.raises(PermissionDenied) as err:
        services.require_verified(org)
    assert "营业执照模糊" in err.value.message
    note = db.session.execute(select(Notification).where(Notification.user_id == admin.id)).scalar_one()
    assert "营业执照模糊" in note.body
    # a new licence sends it back to the queue
    services.update_profile(admin, org, services.ProfileChange(
        industry="software_it", employees=50, revenue_cny=Decimal(20_000_000), licence=io.BytesIO(PNG), licence_filename="new.png"))
    assert org.verification_status == "pending"
    assert [e.action for e in org.events][-2:] == ["profile_updated", "resubmitted"]


def test_only_reviewers_verify(app_ctx, registration, make_user):
    org, admin = services.register_organisation(registration())
    with pytest.raises(PermissionDenied):
        services.approve(admin, org)
    with pytest.raises(PermissionDenied):
        services.reject(make_user(role=Role.SME_MEMBER), org, "x")


def test_require_verified_without_org():
    with pytest.raises(PermissionDenied):
        services.require_verified(None)


def test_edit_reclassifies_and_keeps_history(app_ctx, registration):
    org, admin = services.register_organisation(registration())
    services.update_profile(admin, org, services.ProfileChange(
        address="新地址", english_name="Test Co.", industry="software_it", employees=150, revenue_cny=Decimal(30_000_000)))
    assert org.size == "medium" and org.address == "新地址" and org.english_name == "Test Co."
    ev = org.events[-1]
    assert ev.action == "reclassified" and ev.detail["size_from"] == "small" and ev.detail["size_to"] == "medium"
    assert "org.edit" in audit_actions()


def test_edit_is_own_org_only(app_ctx, registration, make_user, make_org):
    org, _admin = services.register_organisation(registration())
    stranger = make_user(role=Role.ORG_ADMIN, org=make_org())
    with pytest.raises(PermissionDenied):
        services.update_profile(stranger, org, services.ProfileChange(industry="software_it", employees=1, revenue_cny=Decimal(1)))


def test_size_override_records_reason_and_both_sizes(app_ctx, registration, make_user):
    staff = make_user(role=Role.DISTRICT_ADMIN)
    org, admin = services.register_organisation(registration())
    with pytest.raises(ValidationError):
        services.override_size(staff, org, "medium", "")
    with pytest.raises(PermissionDenied):
        services.override_size(admin, org, "medium", "我们想要")
    services.override_size(staff, org, "medium", "集团合并报表口径，见附件")
    assert (org.size, org.size_source, org.size_override_reason) == ("medium", "override", "集团合并报表口径，见附件")
    ev = org.events[-1]
    assert ev.action == "size_override" and ev.detail["classified"] == "small" and ev.detail["size_to"] == "medium"
    # new figures do not silently undo an admin's decision, but history shows the classification
    services.update_profile(admin, org, services.ProfileChange(industry="software_it", employees=5, revenue_cny=Decimal(100_000)))
    assert org.size == "medium" and org.events[-1].detail == {**org.events[-1].detail, "classified": "micro", "override_kept": True}
    services.override_size(staff, org, None, "恢复按标准")
    assert (org.size, org.size_source) == ("micro", "classified")


def test_related_parties(app_ctx, make_org, make_user):
    staff = make_user(role=Role.DISTRICT_REVIEWER)
    a, b, c = make_org(), make_org(), make_org()
    assert services.related(a, a) is True
    assert services.related(a, b) is False
    group = services.create_group(staff, "光华集团", "group")
    with pytest.raises(ValidationError):
        services.create_group(staff, "光华集团", "declared")
    services.add_to_group(staff, group, a)
    services.add_to_group(staff, group, b)
    assert services.related(a, b) and services.related(b.id, a.id)
    assert not services.related(a, c)
    other = services.create_group(staff, "另一集团", "shareholding")
    with pytest.raises(Conflict):
        services.add_to_group(staff, other, a)
    services.remove_from_group(staff, group, b)
    assert not services.related(a, b)
    assert [e.action for e in b.events] == ["group_joined", "group_left"]
    with pytest.raises(PermissionDenied):
        services.create_group(make_user(role=Role.ORG_ADMIN), "x", "group")
