"""Listings created at the same moment each get their own ref: no 500 (issue 8, item 7: 10
concurrent creations gave 3 x 500, two drafts computing the same next ref)."""

from __future__ import annotations

from sqlalchemy import func, select

from market.extensions import db
from market.listings import services
from models.listings import Listing
from models.users import Role, User
from tests.concurrency import run_parallel, tally
from tests.listings_support import INSTRUMENT


def test_ten_concurrent_creations_all_succeed_with_distinct_refs(app, make_org, make_user):
    orgs = [make_org(kind="university") for _ in range(2)]
    user_ids = [make_user(role=Role.PROVIDER_MEMBER, org=orgs[i % 2]).id for i in range(10)]

    def work(i):
        user = db.session.get(User, user_ids[i])
        return services.create(user, "instrument", dict(INSTRUMENT, title=f"扫描电镜 {i}")).ref

    outcomes = run_parallel(app, 10, work)
    assert tally(outcomes) == {"ok": 10}, outcomes
    refs = sorted(ref for _kind, ref in outcomes)
    assert len(set(refs)) == 10
    assert refs == [services.next_ref("instrument")[:-4] + f"{n:04d}" for n in range(1, 11)]
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Listing)).scalar_one() == 10
