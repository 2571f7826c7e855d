"""Issue 13: text the system generates (notification and contract titles) is stored as a message key
and parameters and read in the reader's language, whatever language its creator used."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import force_locale

from market.deals.contracts import create_contract_draft
from market.extensions import db
from market.notifications.mail import outbox
from models.deals import Contract, ContractKind
from models.notifications import Notification
from models.users import Role
from tests.conftest import drain_outbox


def test_contract_and_notification_read_in_the_readers_language(client, login, make_org, make_user):
    payer, payee = make_org(name="长春光谱科技"), make_org(name="一汽研究院")
    actor = make_user(role=Role.DISTRICT_ADMIN, locale="zh_Hans_CN")
    english = make_user(role=Role.ORG_ADMIN, org=payer, locale="en")
    chinese = make_user(role=Role.ORG_ADMIN, org=payee, locale="zh_Hans_CN")
    outbox.clear()
    from flask_babel import lazy_gettext as _l

    with force_locale("zh_Hans_CN"):  # a Chinese-speaking actor creates it
        contract = create_contract_draft(
            actor, kind=ContractKind.SCENARIO_CONTRACT, payer=payer, payee=payee, amount_cny=Decimal("1000"),
            title=_l("场景合同：%(title)s", title="智能网联测试场"),
        )
    db.session.commit()
    stored = db.session.get(Contract, contract.id)
    assert stored.title == "场景合同：智能网联测试场"  # the creator's text stays for exports and old readers
    assert stored.title_key == "场景合同：%(title)s" and stored.title_params == {"title": "智能网联测试场"}

    mine = db.session.query(Notification).filter_by(user_id=english.id).one()
    assert mine.title_key == "合同草稿待确认：%(title)s"
    assert mine.title.startswith("Draft contract awaiting confirmation: Scenario contract:")  # mailed in English

    login(english)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Draft contract awaiting confirmation: Scenario contract: 智能网联测试场" in page
    assert "合同草稿待确认" not in page
    detail = client.get(f"/deals/contracts/{contract.id}").get_data(as_text=True)
    assert "Scenario contract: 智能网联测试场" in detail and "场景合同：" not in detail
    # the same page asked for in Chinese reads in Chinese
    zh = client.get("/notifications/?lang=zh_Hans_CN").get_data(as_text=True)
    assert "合同草稿待确认：场景合同：智能网联测试场" in zh

    login(chinese)
    assert "合同草稿待确认：场景合同：智能网联测试场" in client.get("/notifications/?lang=zh_Hans_CN").get_data(as_text=True)
    drain_outbox()
    subjects = {m["To"]: m["Subject"] for m in outbox}
    assert subjects[english.email].startswith("Draft contract awaiting confirmation")
    assert subjects[chinese.email].startswith("合同草稿待确认")


def test_old_rows_without_a_key_show_their_text(client, login, make_user):
    user = make_user(locale="en")
    db.session.add(Notification(user_id=user.id, kind="test", title="旧的通知", body="旧正文"))
    db.session.commit()
    login(user)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "旧的通知" in page and "旧正文" in page


def test_the_demos_contracts_and_ledger_notifications_read_in_english(app_ctx):
    """In English the demo's rental and data contracts stayed 租用合同：… / 数据授权合同：…, and a ledger notification read
    "LE00000010: 仪器设施租用 ¥1,400.00; please check…" and "双方均已确认。"."""
    from market.demo import load_demo
    from market.ledger import services as ledger
    from tests.ledger_helpers import NOW, PAID, full_evidence

    load_demo()
    contracts = db.session.query(Contract).all()
    assert {c.kind for c in contracts} >= {"rental", "data_access", "scenario_contract"}
    with force_locale("en"):
        titles = [c.display_title for c in contracts]
    assert all(not t.startswith(("租用合同", "数据授权合同", "场景合同")) for t in titles), titles
    contract = next(c for c in contracts if c.status == "active")
    payer_admin = next(u for u in contract.payer.users if u.role == Role.ORG_ADMIN)
    payee_admin = next(u for u in contract.payee.users if u.role == Role.ORG_ADMIN)
    entry = ledger.record_payment(payer_admin, contract, amount="100.00", paid_at=PAID, now=NOW, uploads=full_evidence("x"))
    ledger.confirm(payee_admin, entry, now=NOW)
    db.session.commit()
    notes = db.session.query(Notification).filter(Notification.kind.in_(("ledger.confirm_needed", "ledger.confirmed"))).all()
    with force_locale("en"):
        bodies = {n.kind: n.display_body for n in notes if entry.ref in (n.display_body + n.display_title)}
    assert "please check" in bodies["ledger.confirm_needed"].lower() and not any(
        "\u4e00" <= ch <= "\u9fff" for body in bodies.values() for ch in body), bodies
