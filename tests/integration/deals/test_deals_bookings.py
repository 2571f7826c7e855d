import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from market.deals import bookings
from market.deals.bookings import AvailabilityInput, BookingInput
from market.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.extensions import db
from market.web import commit
from models.deals import Booking, Contract
from models.notifications import Notification
from models.users import Role, User
from tests.integration.deals.helpers import make_listing, next_weekday_at

H = dt.timedelta(hours=1)


def _req(start, hours=2, **kw):
    base = dict(start_at=start, end_at=start + hours * H, purpose="材料表征", sample_description="粉末样品 5 g", operator_needed=True)
    base.update(kw)
    return BookingInput(**base)


def test_request_approve_check_in_makes_rental_contract(world, client, login):
    res = make_listing(world.owner_org, kind="instrument")
    start = next_weekday_at(9)
    b = bookings.request_booking(world.sme, res.id, _req(start, 3))
    db.session.commit()
    assert b.status == "requested" and b.hours == Decimal("3.00") and b.operator_needed
    assert db.session.query(Notification).filter_by(user_id=world.owner.id, kind="booking.requested").count() == 1
    bookings.approve_booking(world.owner, b.id)
    db.session.commit()
    c = db.session.get(Contract, b.contract_id)
    assert (c.kind, c.payer_id, c.payee_id, c.amount_cny) == ("rental", world.sme_org.id, world.owner_org.id, Decimal("2400.00"))
    with pytest.raises(Conflict, match="尚未开始"):
        bookings.check_in(world.owner, b.id, "2")
    db.session.rollback()
    after = start + 3 * H  # the clock is injected: no row is edited to fake the passing of time
    with pytest.raises(ValidationError, match="不能超过"):
        bookings.check_in(world.owner, b.id, "3.5", now=after)
    db.session.rollback()
    bookings.check_in(world.owner, b.id, "2.5", now=after)
    db.session.commit()
    assert b.status == "completed" and b.actual_hours == Decimal("2.50")
    assert c.amount_cny == Decimal("2000.00")  # the draft follows actual usage
    assert b.billed_cny == Decimal("2000.00") and b.amount_cny == Decimal("2400.00")
    login(world.sme)  # the booking page said ¥2,400.00 while the contract said ¥2,000.00
    cost = client.get(f"/deals/bookings/{b.id}").get_data(as_text=True).split('id="booking-cost">', 1)[1].split("</dd>", 1)[0]
    assert cost.startswith("¥2,000.00") and "¥2,400.00" in cost
    [u] = bookings.utilisation(world.owner_org.id)
    assert (u.booked_hours, u.used_hours, u.rate) == (Decimal("3.00"), Decimal("2.50"), Decimal("83.3"))


def test_bad_requests_are_refused_and_nothing_saved(world, make_org, make_user):
    res = make_listing(world.owner_org, kind="facility")
    bookings.set_availability(world.owner, res.id, AvailabilityInput(
        hours={"mon": "09:00-12:00, 13:00-18:00", "tue": "09:00-18:00", "wed": "09:00-18:00",
               "thu": "09:00-18:00", "fri": "09:00-18:00"},
        min_hours="1", max_hours="4", lead_time_hours="24", free_cancel_hours="48"))
    db.session.commit()
    monday = next_weekday_at(9, weekday=0)
    now = dt.datetime.now(dt.UTC)
    cases = [
        (_req(now - 2 * H), "过去"),
        (_req(now + 2 * H), "提前"),
        (_req(monday, 5), "不能超过 4"),
        (_req(monday, 0.5), "不能少于 1"),
        (_req(monday + 2 * H, 2), "开放时间"),  # 11:00–13:00 spans the lunch break
        (_req(next_weekday_at(9, weekday=5), 2), "开放时间"),  # Saturday
        (_req(monday + 8 * H, 2), "开放时间"),  # 17:00–19:00
        (_req(monday, 2, purpose=" "), "使用目的"),
        (_req(monday, 2, end_at=monday), "晚于"),
        (_req(monday.replace(tzinfo=None), 2), "时区"),
    ]
    for data, message in cases:
        with pytest.raises(ValidationError, match=message):
            bookings.request_booking(world.sme, res.id, data, now=now)
        db.session.rollback()
    unverified = make_user(role=Role.SME_MEMBER, org=make_org(kind="sme", verified=False))
    with pytest.raises(PermissionDenied, match="认证"):
        bookings.request_booking(unverified, res.id, _req(monday))
    with pytest.raises(PermissionDenied):
        bookings.request_booking(world.owner, res.id, _req(monday))
    bookings.add_block(world.owner, res.id, monday - 2 * H, monday + 4 * H, "设备检修")
    db.session.commit()
    with pytest.raises(ValidationError, match="设备检修"):
        bookings.request_booking(world.sme, res.id, _req(monday))
    db.session.rollback()
    with pytest.raises(NotFound):
        bookings.request_booking(world.sme, make_listing(world.owner_org, kind="scenario").id, _req(monday))
    assert db.session.query(Booking).count() == 0


def test_overlap_refused_and_released_by_no_show(world):
    res = make_listing(world.owner_org, kind="pilot_base")
    start = next_weekday_at(10)
    b = bookings.request_booking(world.sme, res.id, _req(start, 2))
    db.session.commit()
    with pytest.raises(Conflict, match="已被预约"):
        bookings.request_booking(world.other_sme, res.id, _req(start + H, 2))
    db.session.rollback()
    # adjacent is fine: [10,12) and [12,14)
    adjacent = bookings.request_booking(world.other_sme, res.id, _req(start + 2 * H, 2))
    bookings.reject_booking(world.owner, adjacent.id, "样品不符合要求")
    bookings.approve_booking(world.owner, b.id)
    db.session.commit()
    bookings.mark_no_show(world.owner, b.id, now=start + H)
    db.session.commit()
    assert b.status == "no_show" and b.contract.status == "cancelled"
    assert bookings.no_show_count(world.sme_org.id) == 1
    # the released slot can be booked again
    again = bookings.request_booking(world.other_sme, res.id, _req(start, 2))
    assert again.status == "requested"
    [u] = bookings.utilisation(world.owner_org.id)
    assert u.no_shows == 1 and u.used_hours == 0


def test_cancellation_rules(world):
    res = make_listing(world.owner_org, kind="instrument")
    bookings.set_availability(world.owner, res.id, AvailabilityInput(
        hours={d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        min_hours="1", max_hours="8", lead_time_hours="1", free_cancel_hours="48"))
    soon = bookings.request_booking(world.sme, res.id, _req((dt.datetime.now(dt.UTC) + 5 * H).replace(minute=0, second=0, microsecond=0), 1))
    later = bookings.request_booking(world.sme, res.id, _req(next_weekday_at(9, days_ahead=5), 1))
    bookings.approve_booking(world.owner, soon.id)
    bookings.approve_booking(world.owner, later.id)
    db.session.commit()
    with pytest.raises(Conflict, match="48"):
        bookings.cancel_booking(world.sme, soon.id)
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        bookings.cancel_booking(world.other_sme, later.id)
    db.session.rollback()
    bookings.cancel_booking(world.sme, later.id, "计划变更")
    assert later.status == "cancelled" and later.contract.status == "cancelled"
    with pytest.raises(ValidationError):
        bookings.cancel_booking(world.owner, soon.id, "")
    db.session.rollback()
    bookings.cancel_booking(world.owner, soon.id, "设备故障")
    assert soon.status == "cancelled"
    assert db.session.query(Notification).filter_by(user_id=world.sme.id, kind="booking.cancelled").count() == 1


def test_availability_validation(world):
    res = make_listing(world.owner_org, kind="instrument")
    bad = dict(min_hours="1", max_hours="8", lead_time_hours="24", free_cancel_hours="24")
    with pytest.raises(ValidationError) as err:
        bookings.set_availability(world.owner, res.id, AvailabilityInput(hours={"mon": "18:00-09:00"}, **bad))
    assert err.value.field == "hours_mon"
    with pytest.raises(ValidationError):
        bookings.set_availability(world.owner, res.id, AvailabilityInput(hours={"tue": "09:00-12:00,11:00-13:00"}, **bad))
    with pytest.raises(ValidationError):
        bookings.set_availability(world.owner, res.id, AvailabilityInput(hours={}, **{**bad, "min_hours": "9"}))
    with pytest.raises(PermissionDenied):
        bookings.set_availability(world.sme, res.id, AvailabilityInput(hours={}, **bad))


def test_calendar_export(world):
    from icalendar import Calendar

    res = make_listing(world.owner_org, kind="instrument", title="冷冻电镜")
    b = bookings.request_booking(world.sme, res.id, _req(next_weekday_at(9), 2))
    for viewer, summary in ((world.owner_org.id, f"冷冻电镜 · {world.sme_org.name}"), (world.other_sme_org.id, "已占用")):
        cal = Calendar.from_ical(bookings.calendar_ics(bookings.bookings_for_resource(res), "冷冻电镜", viewer))
        [ev] = cal.walk("VEVENT")
        assert str(ev["SUMMARY"]) == summary
        assert ev.decoded("DTSTART") == b.start_at


def test_database_refuses_overlap_even_without_the_service_check(app, world):
    """The guarantee lives in the database, not only in Python."""
    res = make_listing(world.owner_org, kind="instrument")
    start = next_weekday_at(9)
    common = dict(listing_id=res.id, renter_id=world.sme_org.id, purpose="p", sample_description="s", rate_cny_per_hour=Decimal("1"))
    db.session.add(Booking(start_at=start, end_at=start + 2 * H, status="approved", **common))
    db.session.commit()
    db.session.add(Booking(start_at=start + H, end_at=start + 3 * H, status="cancelled", **common))
    db.session.commit()  # inactive bookings do not hold the slot
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no exclusion constraints: the service serialises writers instead")
    db.session.add(Booking(start_at=start + H, end_at=start + 3 * H, status="requested", **common))
    with pytest.raises(sa_exc.IntegrityError, match="booking_no_overlap"):
        db.session.commit()
    db.session.rollback()


def test_a_request_aborted_as_a_deadlock_on_the_constraint_is_told_the_slot_is_taken(app, world):
    """Concurrent overlapping inserts wait on each other while PostgreSQL checks the exclusion
    constraint, and one of them is then aborted as a deadlock (40P01), not as a violation (23P01).

    Staged here step by step: another transaction holds an uncommitted booking the request overlaps
    (so the request waits on it), then inserts one overlapping the request's row (so it waits on the
    request). The request's backend detects the cycle first (the other's deadlock_timeout is longer)
    and is the one aborted: its user must hear that the slot is taken, not get a server error.
    """
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no exclusion constraints: the write lock serialises requests")
    res = make_listing(world.owner_org, kind="instrument")
    db.session.commit()
    start = next_weekday_at(9)
    res_id, sme_id = res.id, world.sme.id
    common = dict(listing_id=res_id, renter_id=world.other_sme_org.id, purpose="p", sample_description="s",
                  rate_cny_per_hour=Decimal("1"), status="requested")
    outcome: list[str] = []

    def request() -> None:
        with app.app_context():
            try:
                bookings.request_booking(db.session.get(User, sme_id), res_id, _req(start + H, 2))
                commit()
                outcome.append("won")
            except Conflict as err:
                outcome.append(err.message)
            except Exception as err:  # noqa: BLE001 - shown by the assertion below, not lost in the thread
                outcome.append(repr(err))
            finally:
                db.session.remove()

    with db.engine.connect() as other, db.engine.connect() as watcher:
        other.execute(sa.text("SET deadlock_timeout = '30s'"))
        other_session = Session(bind=other)
        other_session.add(Booking(start_at=start, end_at=start + 2 * H, **common))  # 09–11, uncommitted
        other_session.flush()
        thread = threading.Thread(target=request)  # asks for 10–12: waits on the other transaction
        thread.start()
        waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
        for _ in range(1500):  # up to 30 s on a loaded machine
            seen_waiting = watcher.execute(waiting).scalar()
            watcher.rollback()  # pg_stat_activity is read once per transaction: each look is a new one
            if seen_waiting:
                break
            time.sleep(0.02)
        else:
            pytest.fail(f"the request never waited on the other transaction: {outcome}")
        other_session.add(Booking(start_at=start + 2 * H, end_at=start + 4 * H, **common))  # 11–13: waits on the request
        other_session.flush()  # returns once the request has been aborted
        thread.join(timeout=30)
        other_session.rollback()
        other_session.close()
    assert outcome == ["该时段已被预约，请选择其他时间。"]
    assert db.session.query(Booking).filter_by(listing_id=res_id).count() == 0


@pytest.mark.parametrize("python_check", [True, False], ids=["with-check", "constraint-only"])
def test_parallel_requests_for_one_slot_exactly_one_wins(app, world, make_org, make_user, monkeypatch, python_check):
    """Many organisations ask for overlapping slots at once, each on its own connection.

    ``constraint-only`` disables the service's overlap query: on PostgreSQL the exclusion
    constraint alone must still let exactly one request win.
    """
    if not python_check:
        if db.engine.dialect.name != "postgresql":
            pytest.skip("on SQLite the overlap check under the write lock is the guarantee")
        monkeypatch.setattr(bookings, "overlapping", lambda *a, **k: None)
    res = make_listing(world.owner_org, kind="instrument")
    bookings.set_availability(world.owner, res.id, AvailabilityInput(  # 10-minute slots: the requests below overlap
        hours={d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}, min_hours="1", max_hours="8",
        lead_time_hours="24", free_cancel_hours="24", slot_minutes="10"))
    start = next_weekday_at(9)
    user_ids = [make_user(role=Role.SME_MEMBER, org=make_org(kind="sme")).id for _ in range(10)]
    res_id = res.id
    barrier = threading.Barrier(len(user_ids))
    results: list[str] = []
    lock = threading.Lock()

    def attempt(n: int, uid: int) -> None:
        with app.app_context():
            user = db.session.get(User, uid)
            # every request overlaps every other one (shifted by 10 minutes each)
            data = _req(start + dt.timedelta(minutes=10 * n), 2)
            barrier.wait()
            try:
                bookings.request_booking(user, res_id, data)
                commit()  # the thread is a request: its boundary commits
                outcome = "won"
            except Conflict as err:
                outcome = "conflict: " + err.message
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(n, uid)) for n, uid in enumerate(user_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == len(user_ids)
    assert results.count("won") == 1, results
    assert all(r == "conflict: 该时段已被预约，请选择其他时间。" for r in results if r != "won")
    db.session.expire_all()
    assert db.session.query(Booking).filter_by(listing_id=res_id).count() == 1
