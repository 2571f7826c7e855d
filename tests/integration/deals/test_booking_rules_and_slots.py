"""Issue 13 friction: the minimum notice, the booking horizon and the slot length are fields of the
resource, enforced by the booking service and shown on the listing and booking pages; the booking page
shows the week's slots (booked ones greyed) and a JSON endpoint gives them without renter details."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from market.deals import bookings
from market.deals.bookings import AvailabilityInput, BookingInput
from market.domain.localtime import SHANGHAI
from market.errors import ValidationError
from market.extensions import db
from tests.integration.deals.helpers import make_listing, next_weekday_at

H = dt.timedelta(hours=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _req(start, hours=2):
    return BookingInput(start_at=start, end_at=start + hours * H, purpose="材料表征", sample_description="粉末样品")


def _rules(world, res, **kw):
    base = dict(hours={d: "09:00-17:00" for d in WEEKDAYS}, min_hours="1", max_hours="6", lead_time_hours="48",
                free_cancel_hours="24", max_horizon_days="14", slot_minutes="30")
    base.update(kw)
    avail = bookings.set_availability(world.owner, res.id, AvailabilityInput(**base))
    db.session.commit()  # the test is the boundary: services flush
    return avail


def test_notice_horizon_and_slot_are_enforced(world):
    res = make_listing(world.owner_org, kind="instrument", rate_cny_per_hour=Decimal("300"))
    avail = _rules(world, res)
    assert (avail.lead_time_hours, avail.max_horizon_days, avail.slot_minutes) == (48, 14, 30)
    with pytest.raises(ValidationError, match="至少提前 48 小时"):
        bookings.request_booking(world.sme, res.id, _req(next_weekday_at(9, days_ahead=1)))
    db.session.rollback()
    with pytest.raises(ValidationError, match="最多可提前 14 天"):
        bookings.request_booking(world.sme, res.id, _req(next_weekday_at(9, days_ahead=20)))
    db.session.rollback()
    start = next_weekday_at(9, days_ahead=4)
    with pytest.raises(ValidationError, match="30 分钟"):
        bookings.request_booking(world.sme, res.id, _req(start + dt.timedelta(minutes=10)))
    db.session.rollback()
    with pytest.raises(ValidationError, match="30 分钟"):
        bookings.request_booking(world.sme, res.id, BookingInput(start, start + dt.timedelta(minutes=70), "材料表征", "粉末"))
    db.session.rollback()
    ok = bookings.request_booking(world.sme, res.id, _req(start + dt.timedelta(minutes=30), 1.5))
    assert ok.status == "requested"
    with pytest.raises(ValidationError):
        _rules(world, res, slot_minutes="7")
    db.session.rollback()
    with pytest.raises(ValidationError):
        _rules(world, res, max_horizon_days="0")


def test_week_slots_and_json_hide_renters(world, client, login):
    res = make_listing(world.owner_org, kind="instrument", rate_cny_per_hour=Decimal("300"))
    _rules(world, res, lead_time_hours="24", slot_minutes="60")
    start = next_weekday_at(10, days_ahead=9, weekday=2)  # a Wednesday whose whole week is past the 24 h lead time
    bookings.request_booking(world.sme, res.id, _req(start, 2))
    db.session.commit()
    week = start.astimezone(SHANGHAI).date() - dt.timedelta(days=start.astimezone(SHANGHAI).weekday())
    days = dict(bookings.week_slots(res, week))
    day = days[start.astimezone(SHANGHAI).date()]
    assert [(s.start.astimezone(SHANGHAI).hour, s.state) for s in day] == [
        (9, "free"), (10, "busy"), (11, "busy"), (12, "free"), (13, "free"), (14, "free"), (15, "free"), (16, "free")]
    assert days[week + dt.timedelta(days=5)] == []  # Saturday: closed

    login(world.other_sme)
    data = client.get(f"/deals/resources/{res.ref}/slots.json?week={week.isoformat()}").get_json()
    assert data["week"] == week.isoformat() and data["slot_minutes"] == 60
    json_day = next(d for d in data["days"] if d["date"] == start.astimezone(SHANGHAI).date().isoformat())
    assert [s["state"] for s in json_day["slots"]][:3] == ["free", "busy", "busy"]
    assert set(json_day["slots"][0]) == {"start", "end", "state"}  # times only: no renter, no purpose
    text = client.get(f"/deals/resources/{res.ref}/slots.json?week={week.isoformat()}").get_data(as_text=True)
    assert world.sme_org.name not in text and "材料表征" not in text
    # out of the window, or no week asked: the week of the first moment a booking may start (now + 24 h lead)
    first_bookable = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=24)).astimezone(SHANGHAI).date()
    first_week = (first_bookable - dt.timedelta(days=first_bookable.weekday())).isoformat()
    assert client.get(f"/deals/resources/{res.ref}/slots.json?week=1850-01-01").get_json()["week"] == first_week
    assert client.get(f"/deals/resources/{res.ref}/slots.json").get_json()["week"] == first_week

    page = client.get(f"/deals/resources/{res.ref}/book?week={week.isoformat()}").get_data(as_text=True)
    local_start = start.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    assert f'class="btn btn-sm slot slot-busy" data-start="{local_start}"' in page
    assert page.count("slot slot-free") >= 30 and "/static/booking.js" in page
    assert "至少提前 24 小时预约" in page and "最远可预约 14 天内的时段" in page and "按 60 分钟一个时段预约" in page
    listing_page = client.get(f"/listings/{res.ref}").get_data(as_text=True)
    assert 'id="listing-booking-rules"' in listing_page and "至少提前 24 小时预约" in listing_page
    # and the weekly opening hours, which only the booking page showed
    hours = listing_page.split('id="listing-opening-hours"', 1)[1].split("</dl>", 1)[0]
    assert "单次预约 1–6 小时" in listing_page  # hours as said: not 1.00–6.00
    assert hours.count("<dt") == 7 and ">09:00-17:00</dd>" in hours and "周日</dt><dd class=\"col-8 mb-0\">不开放" in hours
