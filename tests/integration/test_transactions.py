"""Transactions at the boundary (issue 9): services flush, the view, command or job commits once.

Any two services run in one transaction: when the second fails, nothing of the first is saved.
Every check reads the database through a connection of its own, never through the session.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from market import scheduler
from market.deals import bookings
from market.deals.bookings import AvailabilityInput
from market.errors import Conflict, DomainError, ValidationError
from market.extensions import db
from market.listings import services as listing_svc
from market.web import commit, rollback
from models.audit import AuditEntry
from models.listings import Listing
from models.organisations import Organisation
from tests.listings_support import INSTRUMENT, people

BAD_HOURS = AvailabilityInput(hours={"mon": "18:00-09:00"}, min_hours="1", max_hours="8",
                              lead_time_hours="24", free_cancel_hours="24")


def saved(model) -> int:
    """Rows of ``model`` as another connection sees them: what was committed."""
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_two_services_in_one_boundary_the_second_fails_nothing_of_the_first_is_saved(make_org, make_user):
    p = people(make_org, make_user)
    audit_before = saved(AuditEntry)
    refused = None
    try:
        listing = listing_svc.create(p["staff"], "instrument", dict(INSTRUMENT))  # flushed: it has an id
        assert listing.id is not None and listing.ref
        bookings.set_availability(p["admin"], listing.id, BAD_HOURS)  # another feature's service refuses
        commit()
    except DomainError as err:
        rollback()
        refused = err
    assert isinstance(refused, ValidationError) and refused.field == "hours_mon"
    assert saved(Listing) == 0 and saved(AuditEntry) == audit_before
    assert db.session.execute(select(func.count()).select_from(Listing)).scalar_one() == 0

    # the same two calls, both fine, commit together at the boundary
    listing = listing_svc.create(p["staff"], "instrument", dict(INSTRUMENT))
    assert saved(Listing) == 0  # flushed, not committed: the service left that to its caller
    bookings.set_availability(p["admin"], listing.id, AvailabilityInput(
        hours={"mon": "09:00-18:00"}, min_hours="1", max_hours="8", lead_time_hours="24", free_cancel_hours="24"))
    commit()
    assert saved(Listing) == 1 and saved(AuditEntry) == audit_before + 2


def test_a_scheduled_job_is_one_boundary(app, make_org, make_user, monkeypatch):
    """The scheduler's wrapper commits a job's work once, or rolls all of it back when it fails."""
    p = people(make_org, make_user)
    ids = {k: p[k].id for k in ("staff", "admin")}
    monkeypatch.setattr(scheduler, "_registry", {})

    def job(fail: bool):
        from models.users import User

        staff, admin = db.session.get(User, ids["staff"]), db.session.get(User, ids["admin"])
        listing = listing_svc.create(staff, "instrument", dict(INSTRUMENT))
        hours = BAD_HOURS if fail else AvailabilityInput(
            hours={"tue": "09:00-12:00"}, min_hours="1", max_hours="3", lead_time_hours="0", free_cancel_hours="0")
        bookings.set_availability(admin, listing.id, hours)

    scheduler.register_job("test.failing", lambda: job(True), "interval", minutes=5)
    scheduler.register_job("test.working", lambda: job(False), "interval", minutes=5)
    runs = {j.id: j.func for j in scheduler.build_scheduler(app, blocking=False).get_jobs()}
    with pytest.raises(ValidationError):
        runs["test.failing"]()
    assert saved(Listing) == 0
    runs["test.working"]()
    assert saved(Listing) == 1


def test_commit_turns_a_late_constraint_into_a_409_and_leaves_the_session_usable(make_org):
    first = make_org()
    db.session.add(Organisation(name="另一家", uscc=first.uscc, kind="sme", in_district=True, size="small"))
    with pytest.raises(Conflict) as err:
        commit()
    assert err.value.http_status == 409 and "刷新" in err.value.message
    assert saved(Organisation) == 1
    assert db.session.get(Organisation, first.id).name == first.name  # rolled back, not broken


def test_a_domain_error_answer_rolls_back_what_was_flushed(app, make_org):
    org = make_org()
    org.name = "改了一半"
    db.session.flush()
    with app.test_request_context("/"):
        response = app.make_response(app.handle_user_exception(Conflict("冲突")))
        assert response.status_code == 409
        assert db.session.get(Organisation, org.id).name != "改了一半"


def test_a_view_that_does_not_commit_saves_nothing(client, make_org):
    """Work left uncommitted when a request ends is dropped (as the end of the session would in
    production; tests share one app context, so the teardown makes it explicit)."""
    org = make_org()
    org.name = "未提交"
    db.session.flush()
    assert client.get("/").status_code == 200
    assert db.session.get(Organisation, org.id).name != "未提交"
