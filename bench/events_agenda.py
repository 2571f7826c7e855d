"""The events service end to end (issue 11): ``compute_agenda`` on one large event in a fresh SQLite
file — weighing every accepted request (matching.scoring), solving (matching.agenda), storing the
meetings with table numbers. 12 slots, 60 tables, each participant misses each slot with
probability 0.25, owners and SMEs limited to 8 meetings.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/events_agenda.py SMES OWNERS REQUESTS
"""

import datetime as dt
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

os.environ["MARKET_ENV"] = "testing"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from market import create_app  # noqa: E402
from market.events import services as svc  # noqa: E402
from market.extensions import db  # noqa: E402
from market.orgs.uscc import make_valid_uscc  # noqa: E402
from models.base import Base  # noqa: E402
from models.events import Event, EventScenario, EventSlot, EventStatus, MeetingRequest, Registration  # noqa: E402
from models.listings import Listing  # noqa: E402
from models.organisations import Organisation  # noqa: E402

n_sme, n_owner, n_req, n_slot = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), 12
tmp = tempfile.mkdtemp()
app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/b.db", "SEARCH_INDEX_DIR": tmp, "EVIDENCE_DIR": tmp})
rng = random.Random(1)
with app.app_context():
    Base.metadata.create_all(db.engine)
    ev = Event(title="bench", track="digital_healthcare", venue="v", event_date=dt.date(2027, 6, 18),
               status=EventStatus.REQUESTS, tables=60, max_meetings=8)
    db.session.add(ev)
    t0 = dt.datetime(2027, 6, 18, 1, tzinfo=dt.UTC)
    slots = [EventSlot(event=ev, position=i + 1, start_at=t0 + dt.timedelta(minutes=25 * i),
                       end_at=t0 + dt.timedelta(minutes=25 * i + 20)) for i in range(n_slot)]
    db.session.add_all(slots)
    orgs = []
    for i in range(n_sme + n_owner):
        kind = "sme" if i < n_sme else "leading_firm"
        orgs.append(Organisation(ref=f"B{i}", name=f"机构{i}", uscc=make_valid_uscc(70000 + i), kind=kind,
                                 verification_status="verified"))
    db.session.add_all(orgs)
    db.session.flush()
    smes, owners = orgs[:n_sme], orgs[n_sme:]
    listings = []
    for k, o in enumerate(owners):
        li = Listing(ref=f"BL{k}", kind="scenario", owner=o, title=f"医学影像标注场景{k}", description="影像 数据 标注 模型 训练 医院",
                     track="digital_healthcare", tags=["影像"], status="published", budget_cny=Decimal("300000"))
        listings.append(li)
        db.session.add(EventScenario(event=ev, listing=li))
    db.session.flush()
    for o in orgs:
        avail = [s.id for s in slots if rng.random() > 0.25] or [slots[0].id]
        db.session.add(Registration(event=ev, organisation=o, side="sme" if o.kind == "sme" else "owner",
                                    interests=[rng.choice(listings).id], available_slots=avail, checkin_code=f"C{o.id}"))
    pairs = set()
    while len(pairs) < n_req:
        pairs.add((rng.choice(smes).id, rng.choice(owners).id))
    for a, b in pairs:
        db.session.add(MeetingRequest(event=ev, from_org_id=a, to_org_id=b, pair_low=min(a, b), pair_high=max(a, b),
                                      status="accepted", priority=rng.randint(1, 3)))
    db.session.commit()
    start = time.perf_counter()
    r = svc.compute_agenda("bench", ev)
    db.session.commit()
    took = time.perf_counter() - start
    print(f"{n_sme} SMEs x {n_owner} owners, {n_req} accepted requests, {n_slot} slots, 60 tables: "
          f"{r.meetings} meetings, total {r.agenda.total_weight:.3f}, bound {r.agenda.bound:.3f}, optimal {r.agenda.optimal}, "
          f"method {r.agenda.method}, greedy {r.greedy.total_weight:.3f}; compute_agenda {took:.2f} s")
