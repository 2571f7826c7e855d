"""Organisation facts as dated history (issue 9): every change writes a period, and "what was this firm
on that day" has one answer that later changes do not alter."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select

from market.domain.orgfacts import OrgFacts
from market.extensions import db
from market.orgs import services
from models.organisations import OrganisationFacts
from models.users import Role

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at_clock(*moments):
    """Make the session's clock return ``moments`` in turn (a flush that records facts asks it once)."""
    ticks = itertools.chain(moments, itertools.repeat(moments[-1]))
    db.session.info["clock"] = lambda: next(ticks)


def test_a_new_organisation_opens_one_period(app_ctx, make_org):
    at_clock(T0)
    org = make_org(kind="sme", size="small", in_district=True)
    rows = db.session.execute(select(OrganisationFacts).where(OrganisationFacts.organisation_id == org.id)).scalars().all()
    assert [(r.valid_from, r.valid_to, r.size, r.verified, r.in_district) for r in rows] == [(T0, None, "small", True, True)]


def test_a_group_given_by_its_id_is_in_the_first_period(app_ctx, make_org, make_user):
    """An organisation created (or moved) with ``group_id`` rather than the ``group`` relationship: its facts
    still hold the group from that moment (else its related-party deals would count)."""
    at_clock(T0)
    group = services.create_group(make_user(role=Role.DISTRICT_ADMIN), "按编号指定的集团", "group")
    db.session.commit()
    org = make_org(kind="sme", size="small", group_id=group.id)
    other = make_org(kind="sme", size="small")
    later = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    at_clock(later)
    other.group_id = group.id
    db.session.commit()
    periods = {o.id: [(r.valid_from, r.valid_to, r.group_id) for r in db.session.execute(
        select(OrganisationFacts).where(OrganisationFacts.organisation_id == o.id).order_by(OrganisationFacts.valid_from)).scalars()]
        for o in (org, other)}
    assert periods[org.id] == [(T0, None, group.id)]
    assert periods[other.id] == [(T0, later, None), (later, None, group.id)]


def test_an_sme_that_became_large_mid_year_was_small_before(app_ctx, make_org, make_user):
    at_clock(T0)
    org = make_org(kind="sme", size="small", industry="software_it")
    admin = make_user(role=Role.DISTRICT_ADMIN)
    june = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    at_clock(june)
    services.override_size(admin, org, "large", "年中并购后超过中小企业上限")
    db.session.commit()

    march = dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    assert services.facts_on(org, march).size == "small" and services.facts_on(org, march).is_sme
    assert services.facts_on(org, june).size == "large" and not services.facts_on(org, june).is_sme
    assert services.facts_on(org, T0 - dt.timedelta(days=1)) is None  # before it existed

    # a later, unrelated change leaves the past as it was
    at_clock(dt.datetime(2027, 2, 1, tzinfo=dt.UTC))
    org.in_district = False
    db.session.commit()
    assert services.facts_on(org, march) == OrgFacts("sme", "small", True, True, None)
    assert services.facts_on(org, dt.datetime(2027, 3, 1, tzinfo=dt.UTC)).in_district is False


def test_changes_that_do_not_touch_facts_write_no_period(app_ctx, make_org):
    org = make_org()
    org.address = "长春新区硅谷大街 1 号"
    org.english_name = "Test Co."
    db.session.commit()
    assert len(org.facts_history) == 1


def test_verification_and_groups_are_dated(app_ctx, make_org, make_user):
    at_clock(T0)
    a = make_org(verified=False)
    b = make_org()
    admin = make_user(role=Role.DISTRICT_ADMIN)
    at_clock(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    services.approve(admin, a)
    db.session.commit()
    at_clock(dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    group = services.create_group(admin, "光华集团", "group")
    services.add_to_group(admin, group, a)
    services.add_to_group(admin, group, b)
    db.session.commit()

    jan, mar, may = (dt.datetime(2026, m, 15, tzinfo=dt.UTC) for m in (1, 3, 5))
    timelines = services.fact_timelines([a.id, b.id])
    assert [timelines[a.id].at(m).verified for m in (jan, mar, may)] == [False, True, True]
    assert timelines[a.id].at(mar).group_id is None
    assert timelines[a.id].at(may).group_id == timelines[b.id].at(may).group_id == group.id
