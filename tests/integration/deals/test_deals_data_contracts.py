import datetime as dt
import io
import threading
from decimal import Decimal

import pytest

from market import exports
from market.deals import bids, contracts, dashboard, data_access
from market.deals.bids import BidInput
from market.deals.data_access import ApplicationInput, Decision
from market.errors import Conflict, PermissionDenied, ValidationError
from market.extensions import db
from market.web import commit
from models.deals import Contract, DataApplication
from models.notifications import Notification
from models.users import Role, User
from tests.integration.deals.helpers import MINIMAL_PDF, make_listing

TODAY = dt.date.today()


def _apply(**kw):
    base = dict(purpose="研发慢病管理模型", fields="年龄、诊断、用药", period_start=TODAY,
                period_end=TODAY + dt.timedelta(days=180), mode="franchise")
    base.update(kw)
    return ApplicationInput(**base)


def test_public_data_application_approved_with_conditions_and_fee(world, make_org, make_user):
    gov = make_org(kind="government", name="大数据中心")
    gov_admin = make_user(role=Role.ORG_ADMIN, org=gov)
    data = make_listing(gov, kind="public_data")
    with pytest.raises(ValidationError) as err:
        data_access.apply(world.sme, data.id, _apply(mode="use"))
    assert err.value.field == "mode"
    with pytest.raises(ValidationError) as err:
        data_access.apply(world.sme, data.id, _apply(period_end=TODAY - dt.timedelta(days=400)))
    assert err.value.field == "period_end"
    db.session.rollback()
    app = data_access.apply(world.sme, data.id, _apply())
    db.session.commit()
    assert app.fields == ["年龄", "诊断", "用药"] and app.mode == "franchise"
    with pytest.raises(Conflict):
        data_access.apply(world.sme, data.id, _apply())
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        data_access.decide(world.owner, app.id, Decision("approve"))
    db.session.rollback()
    with pytest.raises(ValidationError) as err:
        data_access.decide(gov_admin, app.id, Decision("approve_with_conditions", conditions=""))
    assert err.value.field == "conditions"
    db.session.rollback()
    data_access.decide(gov_admin, app.id, Decision(
        "approve_with_conditions", conditions="仅限脱敏数据，不得出境", fee_cny="30000.00",
        valid_from=TODAY, valid_until=TODAY + dt.timedelta(days=90)))
    db.session.commit()
    db.session.refresh(app)
    assert app.status == "approved" and app.is_valid_on(TODAY) and not app.is_valid_on(TODAY + dt.timedelta(days=91))
    c = app.contract
    assert (c.kind, c.payer_id, c.payee_id, c.amount_cny) == ("data_access", world.sme_org.id, gov.id, Decimal("30000.00"))
    # both dashboards show the access
    assert dashboard.dashboard_for(world.sme_org).access_granted == [app]
    assert dashboard.dashboard_for(gov).access_given == [app]
    n = db.session.query(Notification).filter_by(user_id=world.sme.id, kind="data_application.decided").one()
    assert "不得出境" in n.body


def test_an_application_asks_only_for_fields_the_catalogue_offers(world, make_org, make_user, client, login):
    """身份证号 was accepted from a catalogue that never opened it: what is applied for is what the catalogue lists."""
    gov = make_org(kind="government", name="卫健委")
    data = make_listing(gov, kind="public_data", details={"fields": ["年龄", "诊断", "用药", "ICD编码"]})
    with pytest.raises(ValidationError) as err:
        data_access.apply(world.sme, data.id, _apply(fields="年龄、身份证号；不存在的字段"))
    assert err.value.field == "fields"
    assert err.value.message == "数据目录中没有这些字段：身份证号、不存在的字段。可申请的字段：年龄、诊断、用药、ICD编码。"
    db.session.rollback()
    # spelt as the catalogue spells them (width and case folded), each once
    app = data_access.apply(world.sme, data.id, _apply(fields="年龄, ｉｃｄ编码; 年龄"))
    db.session.commit()
    assert app.fields == ["年龄", "ICD编码"]
    # a catalogue listing no fields leaves the request to the provider
    free = make_listing(gov, kind="public_data")
    assert data_access.apply(world.sme, free.id, _apply(fields="任意字段")).fields == ["任意字段"]
    db.session.rollback()
    login(world.sme)
    page = client.get(f"/deals/data/{data.ref}/apply").get_data(as_text=True)
    assert "可申请的字段：年龄、诊断、用药、ICD编码" in page


def test_reject_needs_reason_and_open_data_needs_no_application(world, make_org, make_user):
    gov = make_org(kind="government")
    gov_admin = make_user(role=Role.ORG_ADMIN, org=gov)
    open_data = make_listing(gov, kind="public_data", open_mode="unconditional")
    with pytest.raises(Conflict, match="无需申请"):
        data_access.apply(world.sme, open_data.id, _apply())
    assert data_access.open_public_data() == [open_data]
    db_listing = make_listing(world.owner_org, kind="database")
    app = data_access.apply(world.sme, db_listing.id, _apply(mode=None))
    db.session.commit()
    assert app.mode == "use"
    with pytest.raises(ValidationError):
        data_access.decide(world.owner, app.id, Decision("reject", reason=" "))
    db.session.rollback()
    data_access.decide(world.owner, app.id, Decision("reject", reason="用途与数据范围不符"))
    db.session.commit()
    assert app.status == "rejected" and app.contract_id is None
    with pytest.raises(Conflict):
        data_access.decide(world.owner, app.id, Decision("approve"))
    db.session.rollback()
    free = data_access.apply(world.other_sme, db_listing.id, _apply(mode=None))
    data_access.decide(world.owner, free.id, Decision("approve"))
    assert free.status == "approved" and free.contract_id is None  # no fee, no contract
    assert db.session.query(DataApplication).count() == 2
    del gov_admin


def _awarded_contract(world) -> Contract:
    scenario = make_listing(world.owner_org)
    bid = bids.submit_bid(world.sme, scenario.id, BidInput(approach="方案", price_cny="200000", timeline="6个月"))
    bids.award_bid(world.owner, bid.id)
    db.session.commit()
    return bid.contract


def test_contract_schedule_document_and_both_confirmations(world):
    c = _awarded_contract(world)
    with pytest.raises(ValidationError, match="不一致"):
        contracts.update_terms(world.owner, c.id, "200000", [{"due": "2027-03-01", "amount_cny": "50000"}])
    db.session.rollback()
    contracts.update_terms(world.owner, c.id, "200000.00", [
        {"due": "2027-06-01", "amount_cny": "120000", "note": "验收款"},
        {"due": "2027-03-01", "amount_cny": "80000", "note": "首付款"},
    ])
    db.session.commit()
    assert [r["due"] for r in c.payment_schedule] == ["2027-03-01", "2027-06-01"]
    with pytest.raises(ValidationError, match="PDF"):
        contracts.confirm(world.sme, c.id)
    db.session.rollback()
    with pytest.raises(ValidationError):
        contracts.upload_signed_document(world.sme, c.id, io.BytesIO(b"\x89PNG\r\n\x1a\nxxxx"), "scan.png")
    db.session.rollback()
    contracts.upload_signed_document(world.sme, c.id, io.BytesIO(MINIMAL_PDF), "合同.pdf")
    contracts.confirm(world.sme, c.id)
    db.session.commit()
    assert c.status == "draft" and c.payee_confirmed_at is not None
    with pytest.raises(Conflict):
        contracts.confirm(world.sme, c.id)
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        contracts.confirm(world.other_sme, c.id)
    db.session.rollback()
    # a change withdraws the other side's confirmation
    contracts.update_terms(world.owner, c.id, "200000.00", [])
    assert c.payee_confirmed_at is None
    contracts.confirm(world.sme, c.id)
    contracts.confirm(world.owner, c.id)
    assert c.status == "active"
    with pytest.raises(Conflict):
        contracts.update_terms(world.owner, c.id, "1", [])
    assert db.session.query(Notification).filter_by(user_id=world.owner.id, kind="contract.active").count() == 1


def test_concurrent_confirmations_activate_the_contract(app, world):
    c = _awarded_contract(world)
    contracts.upload_signed_document(world.sme, c.id, io.BytesIO(MINIMAL_PDF), "合同.pdf")
    db.session.commit()
    cid, uids = c.id, [world.sme.id, world.owner.id]
    barrier = threading.Barrier(2)
    errors = []

    def go(uid):
        with app.app_context():
            try:
                user = db.session.get(User, uid)
                barrier.wait()
                contracts.confirm(user, cid)
                commit()  # each thread is a request: its boundary commits
            except Exception as err:  # pragma: no cover - reported below
                errors.append(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=go, args=(u,)) for u in uids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    db.session.expire_all()
    assert db.session.get(Contract, cid).status == "active"


def test_dashboard_waiting_and_exports(world):
    from openpyxl import load_workbook

    c = _awarded_contract(world)
    d = dashboard.dashboard_for(world.owner_org)
    assert [w.link for w in d.waiting] == [f"/deals/contracts/{c.id}"]
    d_sme = dashboard.dashboard_for(world.sme_org)
    assert len(d_sme.bids_sent) == 1 and len(d_sme.waiting) == 1
    csv_text = exports.to_bytes("csv", *dashboard.export_tables(d_sme, "csv")).decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("类型,编号")
    assert "揭榜方案" in csv_text and "200000.00" in csv_text and "合同" in csv_text
    wb = load_workbook(io.BytesIO(exports.to_bytes("xlsx", *dashboard.export_tables(d_sme, "xlsx"))))
    assert wb.sheetnames == ["揭榜", "预约", "数据申请", "合同"]
    assert wb["合同"]["H2"].value == 200000


def test_dashboard_exports_neutralise_formulas_and_render_pdf(world):
    from openpyxl import load_workbook

    c = _awarded_contract(world)
    c.listing.title = '=HYPERLINK("http://x")'
    db.session.commit()
    d = dashboard.dashboard_for(world.sme_org)
    csv_text = exports.to_bytes("csv", *dashboard.export_tables(d, "csv")).decode("utf-8-sig")
    assert '\'=HYPERLINK(""http://x"")' in csv_text and ',=HYPERLINK' not in csv_text
    wb = load_workbook(io.BytesIO(exports.to_bytes("xlsx", *dashboard.export_tables(d, "xlsx"))))
    assert wb["合同"]["D2"].value == '\'=HYPERLINK("http://x")' and wb["合同"].freeze_panes == "A2"
    assert wb["合同"]["I2"].is_date  # the contract's time, Beijing wall time
    pdf = exports.to_bytes("pdf", *dashboard.export_tables(d, "pdf"), title="我的交易")
    assert pdf.startswith(b"%PDF")
