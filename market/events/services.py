"""Matchmaking events (专题场景对接会, POLICY.md art. 8, 9; issue 11): the work, no rendering.

House rule (consolidation): services flush, they never commit. The view, CLI command or scheduled
job that called them commits once. ``actor`` is a User, or a string ("scheduler", "cli") for
system work, which skips the role check and is written to the audit log as such.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from market import audit
from market.db import get_or_404
from market.deals.common import acting_org, clock, get_for_update, serialise_writes
from market.domain.localtime import SHANGHAI, today
from market.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.extensions import db
from market.links import path_for
from market.notifications.services import notify as _notify
from market.notifications.services import org_admins
from market.permissions import DISTRICT, require
from matching import agenda as agenda_mod
from matching import scoring
from models.deals import Bid, Contract
from models.events import (
    CheckIn,
    DeclarationStatus,
    DemoDeclaration,
    Event,
    EventScenario,
    EventSlot,
    EventStatus,
    Meeting,
    MeetingRequest,
    Outcome,
    OutcomeResult,
    Registration,
    RequestStatus,
)
from models.ledger import LedgerEntry
from models.listings import Listing, ListingKind, ListingStatus, Track
from models.organisations import Organisation, OrgKind

PLAN_PATH = Path(__file__).with_name("plan.yaml")
NEXT_STATUS = {a: b for a, b in zip(tuple(EventStatus), tuple(EventStatus)[1:], strict=False)}
OPEN_FOR_SCENARIOS = (EventStatus.CALL_FOR_SCENARIOS, EventStatus.REGISTRATION)
OPEN_FOR_REQUESTS = (EventStatus.REGISTRATION, EventStatus.REQUESTS)
DAY_OF = (EventStatus.AGENDA_PUBLISHED, EventStatus.HELD)
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: typed from a phone screen


@functools.cache
def plan() -> dict[str, Any]:
    """The yearly plan (plan.yaml): themes, quarters, slot grid, lifecycle dates, art. 9 tiers."""
    with open(PLAN_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _require(actor: Any, action: str, obj: Any = None) -> None:
    if not isinstance(actor, str):
        require(actor, action, obj)


def notify(users, kind: str, title: str, body: str = "", link: str | None = None) -> None:
    _notify(users, kind, title, body, link)


# ---------------------------------------------------------------- creating events
@dataclass
class EventInput:
    title: str | None = None
    track: str | None = None
    venue: str | None = None
    event_date: dt.date | None = None
    slot_start: str | None = "09:00"  # Beijing time, HH:MM
    slot_minutes: int | None = 20
    slot_gap: int | None = 5
    slot_count: int | None = 12
    tables: int | None = 30
    max_meetings: int | None = 8
    target_scenarios: int | None = 20
    registration_opens_on: dt.date | None = None
    registration_closes_on: dt.date | None = None
    agenda_due_on: dt.date | None = None


def slot_times(day: dt.date, start: str, minutes: int, gap: int, count: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """``count`` meetings of ``minutes`` every ``minutes + gap`` from ``start`` (Beijing), as UTC."""
    hour, minute = (int(x) for x in start.split(":"))
    first = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)
    out = []
    for i in range(count):
        begin = first + dt.timedelta(minutes=i * (minutes + gap))
        out.append((begin.astimezone(dt.UTC), (begin + dt.timedelta(minutes=minutes)).astimezone(dt.UTC)))
    return out


def _positive(value: Any, field_name: str, label: str, low: int, high: int) -> int:
    if value is None or isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(_("%(label)s应为 %(low)d 到 %(high)d 之间的整数。", label=label, low=low, high=high),
                              field_name)
    return value


def _clean_event(data: EventInput) -> dict[str, Any]:
    title = (data.title or "").strip()
    if not title:
        raise ValidationError(_("请填写活动名称。"), "title")
    if data.track not in set(Track):
        raise ValidationError(_("请选择活动的赛道主题。"), "track")
    venue = (data.venue or "").strip()
    if not venue:
        raise ValidationError(_("请填写活动地点。"), "venue")
    if data.event_date is None or not 2000 <= data.event_date.year <= 2100:
        raise ValidationError(_("请填写 2000 到 2100 年之间的活动日期。"), "event_date")
    if not data.slot_count:
        raise ValidationError(_("活动没有时段：请至少设置一个会谈时段。"), "slot_count")
    count = _positive(data.slot_count, "slot_count", _("时段数"), 1, 48)
    minutes = _positive(data.slot_minutes, "slot_minutes", _("每场时长（分钟）"), 5, 240)
    gap = _positive(data.slot_gap, "slot_gap", _("间隔（分钟）"), 0, 120)
    start = (data.slot_start or "").strip()
    try:
        hour, minute = (int(x) for x in start.split(":"))
        dt.time(hour, minute)
    except ValueError:
        raise ValidationError(_("开始时间应为 HH:MM，例如 09:00。"), "slot_start") from None
    if hour * 60 + minute + count * (minutes + gap) - gap > 24 * 60:
        raise ValidationError(_("会谈时段超出了活动当天。"), "slot_count")
    return dict(
        title=title, track=data.track, venue=venue, event_date=data.event_date,
        tables=_positive(data.tables, "tables", _("每时段桌数"), 1, 1000),
        max_meetings=_positive(data.max_meetings, "max_meetings", _("每方最多会谈数"), 1, 48),
        target_scenarios=_positive(data.target_scenarios, "target_scenarios", _("目标场景数"), 1, 1000),
        grid=(start, minutes, gap, count),
    )


def create_event(actor: Any, data: EventInput, plan_key: str | None = None) -> Event:
    _require(actor, "event.manage")
    clean = _clean_event(data)
    start, minutes, gap, count = clean.pop("grid")
    event = Event(plan_key=plan_key, status=EventStatus.PLANNED, registration_opens_on=data.registration_opens_on,
                  registration_closes_on=data.registration_closes_on, agenda_due_on=data.agenda_due_on, **clean)
    for i, (begin, end) in enumerate(slot_times(event.event_date, start, minutes, gap, count), start=1):
        event.slots.append(EventSlot(position=i, start_at=begin, end_at=end))
    db.session.add(event)
    db.session.flush()
    audit.record(actor, "event.create", event, None, audit.snapshot(event))
    return event


def next_quarter(day: dt.date) -> tuple[int, int]:
    """The quarter after ``day``'s (Beijing date): the one an admin plans now (art. 9: one event a quarter)."""
    quarter = (day.month - 1) // 3 + 1
    return (day.year + 1, 1) if quarter == 4 else (day.year, quarter + 1)


def plan_entry(year: int, quarter: int) -> EventInput:
    """The plan's event of (year, quarter) as an input for :func:`create_event`."""
    if quarter not in (1, 2, 3, 4):
        raise ValidationError(_("季度应为 1 到 4。"), "quarter")
    p = plan()
    themes = p["themes"]
    theme = themes[(4 * (year - p["rotation_start"]) + quarter - 1) % len(themes)]
    when = p["quarters"][quarter]
    day = dt.date(year, when["month"], when["day"])
    grid = p["slot_grid"]
    return EventInput(
        title=f"{year}年第{quarter}季度{theme['title']}", track=theme["track"], venue=p["venue"], event_date=day,
        slot_start=grid["start"], slot_minutes=grid["minutes"], slot_gap=grid["gap"], slot_count=grid["count"],
        tables=p["tables"], max_meetings=p["max_meetings"], target_scenarios=p["target_scenarios"],
        registration_opens_on=day - dt.timedelta(days=p["registration_days_before"]),
        registration_closes_on=day - dt.timedelta(days=p["requests_days_before"]),
        agenda_due_on=day - dt.timedelta(days=p["agenda_days_before"]),
    )


def plan_key(year: int, quarter: int) -> str:
    return f"{year}-Q{quarter}"


def event_for_plan(year: int, quarter: int) -> Event | None:
    return db.session.execute(select(Event).where(Event.plan_key == plan_key(year, quarter))).scalar_one_or_none()


def create_from_plan(actor: Any, year: int, quarter: int) -> tuple[Event, bool]:
    """The plan's event of (year, quarter), created once: (event, created). The unique plan key
    makes a second run, or a second scheduler, find the first one's event instead of a copy."""
    _require(actor, "event.manage")
    data = plan_entry(year, quarter)
    serialise_writes()
    existing = event_for_plan(year, quarter)
    if existing is not None:
        return existing, False
    try:
        with db.session.begin_nested():
            event = create_event(actor, data, plan_key=plan_key(year, quarter))
    except IntegrityError:  # another scheduler committed it between our check and insert
        existing = event_for_plan(year, quarter)
        if existing is None:
            raise
        return existing, False
    return event, True


# ---------------------------------------------------------------- lifecycle
def get_event(event_id: int, lock: bool = False) -> Event:
    if lock:
        return get_for_update(Event, event_id, _("找不到该活动。"))
    return get_or_404(Event, event_id, _("找不到该活动。"))


def advance(actor: Any, event: Event, to: str | None = None) -> Event:
    """Move the event one step along planned → call for scenarios → registration → requests →
    agenda published → held → closed. Publishing needs a computed agenda."""
    _require(actor, "event.manage")
    target = to or NEXT_STATUS.get(event.status)
    if target is None or NEXT_STATUS.get(event.status) != target:
        from .labels import event_status_label

        raise Conflict(_("活动当前为“%(now)s”，不能转到“%(to)s”。", now=event_status_label(event.status),
                         to=event_status_label(target) if target else "—"))
    if not event.slots:
        raise ValidationError(_("活动没有时段：请至少设置一个会谈时段。"))
    if target == EventStatus.AGENDA_PUBLISHED:
        return publish_agenda(actor, event)
    before = audit.snapshot(event)
    event.status = target
    db.session.flush()
    audit.record(actor, "event.advance", event, before, audit.snapshot(event))
    if target == EventStatus.REGISTRATION:
        _tell_owners(event, "event.registration_open", _l("对接会开始报名：%(title)s", title=event.title))
    return event


def _tell_owners(event: Event, kind: str, title: str) -> None:
    for reg in event.registrations:
        if reg.side == "owner":
            notify(org_admins(reg.organisation_id), kind, title, "", path_for("events.detail", event_id=event.id))


# ---------------------------------------------------------------- scenarios and registrations
def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if db.session.execute(select(Registration.id).where(Registration.checkin_code == code)).first() is None:
            return code


def registration_of(event: Event, org_id: int | None) -> Registration | None:
    if org_id is None:
        return None
    return db.session.execute(
        select(Registration).where(Registration.event_id == event.id, Registration.organisation_id == org_id)
    ).scalar_one_or_none()


def attached_listing_ids(event: Event) -> list[int]:
    return [s.listing_id for s in event.scenarios]


def attach_scenario(user: Any, event: Event, listing: Listing) -> EventScenario:
    """A leading firm (or another provider) attaches one of its published scenarios (art. 8, 9)."""
    require(user, "event.attach_scenario", listing)
    org = acting_org(user)
    if org.kind == OrgKind.SME:
        raise PermissionDenied(_("中小企业不能挂接场景，请报名参会。"))
    if event.status not in OPEN_FOR_SCENARIOS:
        raise Conflict(_("活动当前不在场景征集阶段，不能挂接场景。"))
    if listing.kind != ListingKind.SCENARIO or listing.status != ListingStatus.PUBLISHED:
        raise ValidationError(_("只能挂接已发布的开放场景。"), "listing_id")
    if listing.id in attached_listing_ids(event):
        raise Conflict(_("该场景已挂接到本次活动。"))
    item = EventScenario(event=event, listing=listing, attached_by_id=user.id)
    db.session.add(item)
    if registration_of(event, org.id) is None:
        db.session.add(Registration(event=event, organisation=org, side="owner", interests=[],
                                    available_slots=[s.id for s in event.slots], checkin_code=_new_code(),
                                    registered_by_id=user.id))
    db.session.flush()
    audit.record(user, "event.attach_scenario", item, None, audit.snapshot(item))
    return item


def detach_scenario(user: Any, event: Event, listing: Listing) -> None:
    require(user, "event.attach_scenario", listing)
    if event.status not in OPEN_FOR_SCENARIOS:
        raise Conflict(_("活动当前不在场景征集阶段，不能撤下场景。"))
    item = next((s for s in event.scenarios if s.listing_id == listing.id), None)
    if item is None:
        raise NotFound(_("该场景未挂接到本次活动。"))
    before = audit.snapshot(item)
    event.scenarios.remove(item)
    db.session.flush()
    audit.record(user, "event.detach_scenario", None, before, None, object_type="event_scenario", object_id=before["id"])


def _clean_slots(event: Event, slot_ids: Iterable[Any]) -> list[int]:
    valid = {s.id for s in event.slots}
    chosen = sorted({int(s) for s in slot_ids if str(s).isdigit() and int(s) in valid})
    if not chosen:
        raise ValidationError(_("请至少选择一个可参会的时段：没有可用时段就无法安排会谈。"), "slots")
    return chosen


def register(user: Any, event: Event, interests: Iterable[Any], slot_ids: Iterable[Any]) -> Registration:
    """An SME registers (or updates its registration) with its scenarios of interest and the slots
    it can attend; a scenario owner updates its availability."""
    require(user, "event.participate")
    org = acting_org(user)
    reg = registration_of(event, org.id)
    if reg is None:
        if org.kind != OrgKind.SME:
            raise PermissionDenied(_("场景方挂接场景后即成为参会方，无需报名。"))
        if event.status != EventStatus.REGISTRATION:
            raise Conflict(_("活动当前不接受报名。"))
    elif event.status not in OPEN_FOR_REQUESTS:
        raise Conflict(_("活动当前不能修改报名信息。"))
    slots = _clean_slots(event, slot_ids)
    attached = set(attached_listing_ids(event))
    chosen = sorted({int(i) for i in interests if str(i).isdigit() and int(i) in attached})
    before = audit.snapshot(reg) if reg else None
    if reg is None:
        reg = Registration(event=event, organisation=org, side="sme", checkin_code=_new_code(), registered_by_id=user.id)
        db.session.add(reg)
    reg.available_slots = slots
    if reg.side == "sme":
        reg.interests = chosen
    db.session.flush()
    audit.record(user, "event.register", reg, before, audit.snapshot(reg))
    return reg


# ---------------------------------------------------------------- scoring and recommendations
def _opportunity(listing: Listing) -> scoring.Opportunity:
    return scoring.Opportunity(
        id=str(listing.id), owner_id=str(listing.owner_id), kind=listing.kind,
        tokens=tuple(scoring.tokenize(f"{listing.title} {listing.description}")), track=listing.track,
        tags=frozenset(listing.tags or ()), budget=listing.budget_cny,
    )


def _sme_profile(org: Organisation, reg: Registration | None) -> scoring.Sme:
    """What the platform knows of an SME: its name, its bids' approaches, its contracts' scenarios,
    and the scenarios it marked as interesting at this event."""
    texts = [org.name]
    tracks: set[str] = set()
    tags: set[str] = set()
    deals = []
    bids = db.session.execute(select(Bid).where(Bid.bidder_id == org.id).order_by(Bid.id.desc()).limit(20)).scalars()
    for bid in bids:
        texts.append(bid.approach[:500])
    contracts = db.session.execute(
        select(Contract).where(Contract.payee_id == org.id, Contract.listing_id.is_not(None)).limit(50)
    ).scalars()
    prices = []
    for c in contracts:
        if c.listing is not None:
            deals.append(scoring.Deal(c.listing.track, frozenset(c.listing.tags or ())))
            tracks.add(c.listing.track)
            prices.append(c.amount_cny)
    for lid in (reg.interests if reg else []) or []:
        listing = db.session.get(Listing, lid)
        if listing is not None:
            texts.append(listing.title)
            tracks.add(listing.track)
            tags.update(listing.tags or ())
    return scoring.Sme(
        id=str(org.id), tokens=tuple(scoring.tokenize(" ".join(texts))), tracks=frozenset(tracks),
        tags=frozenset(tags), deals=tuple(deals),
        budget_min=min(prices) / 2 if prices else None, budget_max=max(prices) * 2 if prices else None,
    )


@dataclass
class Recommendation:
    org: Organisation
    listing: Listing | None
    score: float
    reasons: list[str] = field(default_factory=list)
    requested: bool = False


def reason_words(code: str, params: dict[str, Any]) -> str:
    """A scoring factor in the reader's language ("同属数字医疗赛道; 曾完成 2 个相关项目; 预算匹配")."""
    from market.listings.fields import TRACK_LABELS

    if code == "same_track":
        label = TRACK_LABELS.get(params.get("track"), params.get("track"))
        return _("同属%(track)s赛道", track=str(label))
    if code == "text_similarity":
        terms = "、".join(str(t) for t in params.get("terms") or [])
        return _("需求描述相近（%(terms)s）", terms=terms) if terms else _("需求描述相近")
    if code == "shared_tags":
        return _("共同标签：%(tags)s", tags="、".join(str(t) for t in params.get("tags") or []))
    if code == "capabilities":
        return _("具备所需能力 %(n)d 项", n=len(params.get("matched") or []))
    if code == "past_deals":
        return _("曾完成 %(n)d 个相关项目", n=int(params.get("count") or 0))
    if code == "same_district":
        return _("同在%(district)s", district=str(params.get("district")))
    if code == "budget_fit":
        return _("预算匹配")
    if code == "budget_near":
        return _("预算接近")
    return code


def _words(match: scoring.Match) -> list[str]:
    return [reason_words(code, dict(params)) for code, params in match.reasons]


def recommendations(event: Event, org: Organisation, k: int = 8) -> list[Recommendation]:
    """For an SME: attached scenarios to meet; for an owner: registered SMEs to invite."""
    reg = registration_of(event, org.id)
    listings = [s.listing for s in event.scenarios]
    sme_regs = [r for r in event.registrations if r.side == "sme"]
    if not listings or not sme_regs and org.kind != OrgKind.SME:
        return []
    pairs = _requested_pairs(event)
    if org.kind == OrgKind.SME:
        me = _sme_profile(org, reg)
        opps = [_opportunity(listing) for listing in listings if listing.owner_id != org.id]
        tfidf = scoring.build_tfidf([me], opps)
        by_id = {str(listing.id): listing for listing in listings}
        out = []
        for m in scoring.recommend_for_sme(me, opps, tfidf, k=k):
            listing = by_id[m.opportunity_id]
            out.append(Recommendation(listing.owner, listing, m.score, _words(m),
                                      frozenset((org.id, listing.owner_id)) in pairs))
        return out
    mine = [_opportunity(listing) for listing in listings if listing.owner_id == org.id]
    if not mine:
        return []
    smes = {r.organisation_id: _sme_profile(r.organisation, r) for r in sme_regs}
    tfidf = scoring.build_tfidf(smes.values(), mine)
    by_id = {str(listing.id): listing for listing in listings}
    out = []
    for m in scoring.recommend_for_owner(mine, smes.values(), tfidf, k=k):
        sme = db.session.get(Organisation, int(m.sme_id))
        out.append(Recommendation(sme, by_id[m.opportunity_id], m.score, _words(m),
                                  frozenset((org.id, sme.id)) in pairs))
    return out


def _requested_pairs(event: Event) -> set[frozenset[int]]:
    rows = db.session.execute(select(MeetingRequest.pair_low, MeetingRequest.pair_high)
                              .where(MeetingRequest.event_id == event.id))
    return {frozenset(r) for r in rows}


class _Context:
    """What weighing requests needs of one event, loaded once: registrations by organisation, each
    owner's attached scenarios, SME profiles (memoised). Weighing R requests costs O(R) lookups
    instead of O(R) rounds of queries."""

    def __init__(self, event: Event) -> None:
        self.regs = {r.organisation_id: r for r in event.registrations}
        self.listings: dict[int, list[Listing]] = {}
        for item in event.scenarios:
            self.listings.setdefault(item.listing.owner_id, []).append(item.listing)
        self._profiles: dict[int, scoring.Sme] = {}
        self._opps: dict[int, list[scoring.Opportunity]] = {}

    def profile(self, sme_id: int) -> scoring.Sme:
        if sme_id not in self._profiles:
            self._profiles[sme_id] = _sme_profile(db.session.get(Organisation, sme_id), self.regs.get(sme_id))
        return self._profiles[sme_id]

    def opportunities(self, owner_id: int) -> list[scoring.Opportunity]:
        if owner_id not in self._opps:
            self._opps[owner_id] = [_opportunity(listing) for listing in self.listings.get(owner_id, [])]
        return self._opps[owner_id]


def best_score(event: Event, sme: Organisation, owner_id: int, ctx: _Context | None = None) -> tuple[float, list[str]]:
    """The SME's best scoring fit over the owner's scenarios attached to the event."""
    ctx = ctx or _Context(event)
    opps = ctx.opportunities(owner_id)
    if not opps:
        return 0.0, []
    me = ctx.profile(sme.id)
    tfidf = scoring.build_tfidf([me], opps)
    best = max((scoring.score(me, o, tfidf) for o in opps), key=lambda m: m.score)
    return best.score, _words(best)


# ---------------------------------------------------------------- meeting requests
PRIORITY_WEIGHT = 0.5


def request_weight(event: Event, req: MeetingRequest, ctx: _Context | None = None) -> tuple[float, dict[str, Any]]:
    """weight = 1 + mutual interest (the SME marked one of the owner's scenarios; the owner asked
    for the meeting: 1 each) + 4 × the matching score + 0.5 × (priority − 1)."""
    ctx = ctx or _Context(event)
    from_reg = ctx.regs.get(req.from_org_id)
    sme_id, owner_id = (req.from_org_id, req.to_org_id) if from_reg and from_reg.side == "sme" else (
        req.to_org_id, req.from_org_id)
    sme_reg = ctx.regs.get(sme_id)
    owner_listings = {listing.id for listing in ctx.listings.get(owner_id, [])}
    sme_interest = 1.0 if sme_reg and set(sme_reg.interests or ()) & owner_listings else 0.0
    owner_interest = 1.0 if req.from_org_id == owner_id else 0.0
    score, reasons = best_score(event, db.session.get(Organisation, sme_id), owner_id, ctx)
    weight = round(1.0 + sme_interest + owner_interest + 4.0 * score + PRIORITY_WEIGHT * (req.priority - 1), 3)
    return weight, {"sme_interest": sme_interest, "owner_interest": owner_interest, "score": round(score, 3),
                    "priority": req.priority, "reasons": reasons}


def request_meeting(user: Any, event: Event, to_org_id: int, listing_id: int | None = None, priority: int = 2,
                    message: str | None = None) -> MeetingRequest:
    """Either side asks the other for a 1:1 meeting. Refused: to oneself, SME↔SME, owner↔owner,
    a party not at the event, a second request for the same pair (either direction)."""
    require(user, "event.participate")
    org = acting_org(user)
    if event.status not in OPEN_FOR_REQUESTS:
        raise Conflict(_("活动当前不接受会谈预约。"))
    if to_org_id == org.id:
        raise ValidationError(_("不能向自己的机构发起会谈预约。"), "to_org_id")
    mine = registration_of(event, org.id)
    if mine is None:
        raise PermissionDenied(_("请先报名参加本次活动（场景方请先挂接场景）。"))
    theirs = registration_of(event, to_org_id)
    if theirs is None:
        raise ValidationError(_("对方没有参加本次活动。"), "to_org_id")
    if mine.side == theirs.side == "sme":
        raise ValidationError(_("中小企业之间不能预约会谈：对接会只安排中小企业与场景方之间的会谈。"), "to_org_id")
    if mine.side == theirs.side:
        raise ValidationError(_("场景方之间不能预约会谈：对接会只安排中小企业与场景方之间的会谈。"), "to_org_id")
    if priority not in (1, 2, 3):
        raise ValidationError(_("优先级应为 1、2 或 3。"), "priority")
    listing = None
    if listing_id:
        owner_id = to_org_id if theirs.side == "owner" else org.id
        listing = db.session.get(Listing, listing_id)
        if listing is None or listing.id not in attached_listing_ids(event) or listing.owner_id != owner_id:
            raise ValidationError(_("所选场景不是场景方在本次活动挂接的场景。"), "listing_id")
    low, high = sorted((org.id, to_org_id))
    existing = db.session.execute(select(MeetingRequest).where(
        MeetingRequest.event_id == event.id, MeetingRequest.pair_low == low, MeetingRequest.pair_high == high,
    )).scalar_one_or_none()
    if existing is not None:
        raise Conflict(_("你们之间已有会谈预约，不能重复预约。"))
    req = MeetingRequest(event=event, from_org_id=org.id, to_org_id=to_org_id, pair_low=low, pair_high=high,
                         listing=listing, priority=priority, message=(message or "").strip()[:2000] or None,
                         requested_by_id=user.id)
    db.session.add(req)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("你们之间已有会谈预约，不能重复预约。")) from None
    req.weight, req.weight_detail = request_weight(event, req)
    audit.record(user, "event.request_meeting", req, None, audit.snapshot(req))
    notify(org_admins(to_org_id), "event.meeting_requested",
           _l("%(org)s 希望在%(event)s与您会谈", org=org.name, event=event.title), message or "",
           path_for("events.detail", event_id=event.id))
    return req


def respond(user: Any, req: MeetingRequest, accept: bool) -> MeetingRequest:
    require(user, "event.participate")
    org = acting_org(user)
    if req.to_org_id != org.id:
        raise PermissionDenied(_("只有被邀请方可以答复会谈预约。"))
    if req.event.status not in OPEN_FOR_REQUESTS:
        raise Conflict(_("活动当前不接受会谈预约。"))
    if req.status != RequestStatus.PENDING:
        raise Conflict(_("该会谈预约已答复。"))
    before = audit.snapshot(req)
    req.status = RequestStatus.ACCEPTED if accept else RequestStatus.DECLINED
    req.decided_at = clock()
    db.session.flush()
    audit.record(user, "event.accept_meeting" if accept else "event.decline_meeting", req, before, audit.snapshot(req))
    notify(org_admins(req.from_org_id), "event.meeting_answered",
           _l("%(org)s 接受了会谈预约", org=org.name) if accept else _l("%(org)s 谢绝了会谈预约", org=org.name),
           "", path_for("events.detail", event_id=req.event_id))
    return req


def requests_of(event: Event, org_id: int) -> list[MeetingRequest]:
    return list(db.session.execute(select(MeetingRequest).where(
        MeetingRequest.event_id == event.id,
        (MeetingRequest.from_org_id == org_id) | (MeetingRequest.to_org_id == org_id),
    ).order_by(MeetingRequest.id)).scalars())


# ---------------------------------------------------------------- the agenda
@dataclass
class AgendaResult:
    agenda: agenda_mod.Agenda
    greedy: agenda_mod.Agenda
    meetings: int


def build_instance(event: Event) -> tuple[agenda_mod.Instance, dict[str, MeetingRequest]]:
    """The event as a ``matching.agenda`` instance: slots ``s<id>``, participants ``o<org id>``,
    accepted requests ``r<id>`` with their (recomputed) weights."""
    slots = tuple(f"s{s.id}" for s in event.slots)
    people = tuple(
        agenda_mod.Participant(f"o{r.organisation_id}", tuple(f"s{s}" for s in r.available_slots or ()),
                               event.max_meetings)
        for r in event.registrations
    )
    accepted = db.session.execute(select(MeetingRequest).where(
        MeetingRequest.event_id == event.id, MeetingRequest.status == RequestStatus.ACCEPTED,
    ).order_by(MeetingRequest.id)).scalars().all()
    requests = []
    by_id = {}
    ctx = _Context(event)
    with db.session.no_autoflush:  # the new weights are flushed once, not before every profile query
        for req in accepted:
            req.weight, req.weight_detail = request_weight(event, req, ctx)
            rid = f"r{req.id}"
            by_id[rid] = req
            requests.append(agenda_mod.Request(rid, f"o{req.from_org_id}", f"o{req.to_org_id}", req.weight))
    return agenda_mod.Instance(slots, people, tuple(requests), event.tables), by_id


def compute_agenda(actor: Any, event: Event) -> AgendaResult:
    """Place the accepted requests optimally (``matching.agenda.solve``) and store the meetings
    with table numbers; greedy's total is kept beside it for comparison."""
    _require(actor, "event.manage")
    if event.status != EventStatus.REQUESTS:
        raise Conflict(_("只有在会谈预约阶段才能编排日程（已发布的日程不再重排）。"))
    if not event.slots:
        raise ValidationError(_("活动没有时段，无法编排日程。"))
    instance, by_id = build_instance(event)
    try:
        best = agenda_mod.solve(instance)
        greedy = agenda_mod.solve(instance, solver="greedy")
    except agenda_mod.InstanceError as err:
        raise ValidationError(_("无法编排日程：%(problems)s", problems="; ".join(err.messages))) from None
    broken = agenda_mod.check(instance, best.meetings)
    if broken:  # never store an invalid agenda
        raise RuntimeError("matching.agenda returned an invalid agenda: " + "; ".join(broken))
    db.session.execute(delete(Meeting).where(Meeting.event_id == event.id))
    slot_by_key = {f"s{s.id}": s for s in event.slots}
    tables: dict[str, int] = {}
    for m in sorted(best.meetings, key=lambda m: (slot_by_key[m.slot].position, by_id[m.request].id)):
        tables[m.slot] = tables.get(m.slot, 0) + 1
        db.session.add(Meeting(event=event, request=by_id[m.request], slot=slot_by_key[m.slot], table_no=tables[m.slot]))
    before = audit.snapshot(event)
    event.agenda_total = best.total_weight
    event.agenda_bound = best.bound
    event.agenda_optimal = best.optimal
    event.agenda_greedy_total = greedy.total_weight
    event.agenda_method = best.method
    event.agenda_computed_at = clock()
    db.session.flush()
    audit.record(actor, "event.compute_agenda", event, before, audit.snapshot(event))
    return AgendaResult(best, greedy, len(best.meetings))


def publish_agenda(actor: Any, event: Event) -> Event:
    _require(actor, "event.manage")
    if event.status != EventStatus.REQUESTS:
        raise Conflict(_("只有在会谈预约阶段才能发布日程。"))
    if event.agenda_computed_at is None:
        raise Conflict(_("请先编排日程，再发布。"))
    before = audit.snapshot(event)
    event.status = EventStatus.AGENDA_PUBLISHED
    db.session.flush()
    audit.record(actor, "event.publish_agenda", event, before, audit.snapshot(event))
    for reg in event.registrations:
        notify(org_admins(reg.organisation_id), "event.agenda_published",
               _l("%(title)s 的个人日程已发布", title=event.title), _l("请查看会谈时间与桌号，并携带签到二维码。"),
               path_for("events.my_agenda", event_id=event.id))
    return event


def meetings_of(event: Event, org_id: int | None = None) -> list[Meeting]:
    stmt = (select(Meeting).join(EventSlot, Meeting.slot_id == EventSlot.id).join(MeetingRequest)
            .where(Meeting.event_id == event.id).order_by(EventSlot.position, Meeting.table_no))
    if org_id is not None:
        stmt = stmt.where((MeetingRequest.from_org_id == org_id) | (MeetingRequest.to_org_id == org_id))
    return list(db.session.execute(stmt).scalars())


def counterpart(meeting: Meeting, org_id: int) -> Organisation:
    req = meeting.request
    return req.to_org if req.from_org_id == org_id else req.from_org


def agenda_is_published(event: Event) -> bool:
    return event.status in (EventStatus.AGENDA_PUBLISHED, EventStatus.HELD, EventStatus.CLOSED)


def agenda_ics(event: Event, org: Organisation) -> bytes:
    """The organisation's meetings as iCalendar (RFC 5545), one VEVENT per meeting."""
    from icalendar import Calendar
    from icalendar import Event as VEvent

    cal = Calendar()
    cal.add("prodid", "-//ccxq-market//events//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{event.title} · {org.name}")
    for m in meetings_of(event, org.id) if agenda_is_published(event) else []:
        ve = VEvent()
        ve.add("uid", f"event-{event.id}-meeting-{m.id}@ccxq-market")
        ve.add("dtstamp", clock())
        ve.add("dtstart", m.slot.start_at)
        ve.add("dtend", m.slot.end_at)
        ve.add("summary", _("会谈：%(org)s（%(table)d 号桌）", org=counterpart(m, org.id).name, table=m.table_no))
        ve.add("location", f"{event.venue} · {_('%(n)d 号桌', n=m.table_no)}")
        cal.add_component(ve)
    return cal.to_ical()


def qr_svg_data_uri(text: str) -> str:
    """A QR code as an SVG data URI (segno, pure Python; CSP allows ``img-src data:``)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=5, border=2)


# ---------------------------------------------------------------- event day
def check_in(staff: Any, event: Event, code: str) -> tuple[Registration, CheckIn, bool]:
    """Check a participant in by the code on their agenda (scanned or typed). A second scan of the
    same code answers with the first check-in: (registration, check-in, newly checked in)."""
    require(staff, "event.checkin")
    if event.status not in DAY_OF:
        raise Conflict(_("活动当前不能签到：日程发布后、活动结束前才能签到。"))
    code = (code or "").strip().upper()
    reg = db.session.execute(select(Registration).where(
        Registration.event_id == event.id, Registration.checkin_code == code)).scalar_one_or_none()
    if reg is None:
        raise ValidationError(_("签到码无效：%(code)s 不是本次活动的签到码。", code=code or "—"), "code")
    existing = db.session.execute(select(CheckIn).where(CheckIn.registration_id == reg.id)).scalar_one_or_none()
    if existing is not None:
        return reg, existing, False
    item = CheckIn(registration=reg, staff_id=getattr(staff, "id", None), checked_in_at=clock())
    try:
        with db.session.begin_nested():
            db.session.add(item)
            db.session.flush()
    except IntegrityError:  # a second phone scanned the same code at the same moment
        existing = db.session.execute(select(CheckIn).where(CheckIn.registration_id == reg.id)).scalar_one()
        return reg, existing, False
    audit.record(staff, "event.check_in", item, None, audit.snapshot(item))
    return reg, item, True


def checked_in_ids(event: Event) -> set[int]:
    rows = db.session.execute(select(CheckIn.registration_id).join(Registration)
                              .where(Registration.event_id == event.id))
    return {r[0] for r in rows}


# ---------------------------------------------------------------- outcomes
def _is_party(user: Any, meeting: Meeting) -> bool:
    return getattr(user, "organisation_id", None) in (meeting.request.from_org_id, meeting.request.to_org_id)


def can_record_outcome(user: Any, meeting: Meeting) -> bool:
    return getattr(user, "role", None) in DISTRICT or _is_party(user, meeting)


def record_outcome(user: Any, meeting: Meeting, result: str, bid_id: int | None = None,
                   contract_id: int | None = None, ledger_entry_id: int | None = None,
                   note: str | None = None) -> Outcome:
    """What came of a meeting: no-show / talked / follow-up / bid / contract, linked to the bid,
    the contract and a ledger entry between the two parties."""
    require(user, "event.outcome")
    if not can_record_outcome(user, meeting):
        raise PermissionDenied(_("只有会谈双方或区级工作人员可以登记会谈结果。"))
    if meeting.event.status not in (EventStatus.AGENDA_PUBLISHED, EventStatus.HELD, EventStatus.CLOSED):
        raise Conflict(_("日程发布后才能登记会谈结果。"))
    if result not in set(OutcomeResult):
        raise ValidationError(_("请选择会谈结果。"), "result")
    pair = {meeting.request.from_org_id, meeting.request.to_org_id}
    bid = contract = entry = None
    if bid_id:
        bid = db.session.get(Bid, bid_id)
        if bid is None or {bid.bidder_id, bid.listing.owner_id} != pair:
            raise ValidationError(_("所填投标不是会谈双方之间的投标。"), "bid_id")
    if contract_id:
        contract = db.session.get(Contract, contract_id)
        if contract is None or {contract.payer_id, contract.payee_id} != pair:
            raise ValidationError(_("所填合同不是会谈双方之间的合同。"), "contract_id")
    if ledger_entry_id:
        entry = db.session.get(LedgerEntry, ledger_entry_id)
        if entry is None or {entry.payer_id, entry.payee_id} != pair:
            raise ValidationError(_("所填台账记录不是会谈双方之间的交易。"), "ledger_entry_id")
    if result == OutcomeResult.BID and bid is None:
        raise ValidationError(_("结果为“已投标”时请填写投标编号。"), "bid_id")
    if result == OutcomeResult.CONTRACT and contract is None:
        raise ValidationError(_("结果为“已签约”时请填写合同编号。"), "contract_id")
    outcome = meeting.outcome
    before = audit.snapshot(outcome) if outcome else None
    if outcome is None:
        outcome = Outcome(meeting=meeting)
        db.session.add(outcome)
    outcome.result = result
    outcome.bid_id = bid.id if bid else None
    outcome.contract_id = contract.id if contract else None
    outcome.ledger_entry_id = entry.id if entry else None
    outcome.note = (note or "").strip()[:2000] or None
    outcome.recorded_by_id = user.id
    outcome.recorded_at = clock()
    db.session.flush()
    audit.record(user, "event.record_outcome", outcome, before, audit.snapshot(outcome))
    return outcome


# ---------------------------------------------------------------- KPIs (art. 9 targets)
@dataclass
class KpiRow:
    key: str  # a year ("2027") or a track
    events_planned: int = 0
    events_held: int = 0
    scenarios: list[int] = field(default_factory=list)  # per event
    registrations: int = 0
    meetings: int = 0
    meetings_held: int = 0
    follow_ups: int = 0
    bids: int = 0
    contracts: int = 0
    contract_value: Decimal = Decimal("0.00")

    @property
    def events_reaching_target(self) -> int:
        return sum(1 for n in self.scenarios if n >= plan()["target_scenarios"])

    @property
    def scenarios_total(self) -> int:
        return sum(self.scenarios)


HELD = (EventStatus.HELD, EventStatus.CLOSED)
FOLLOW_UP = (OutcomeResult.FOLLOW_UP, OutcomeResult.BID, OutcomeResult.CONTRACT)


def kpis(year: int | None = None) -> tuple[list[KpiRow], list[KpiRow]]:
    """(per year, per track of ``year`` or of all years): events held vs 4 a year, scenarios per
    event vs 20+, registrations, meetings held, follow-ups, bids, contracts and their value."""
    by_year: dict[str, KpiRow] = {}
    by_track: dict[str, KpiRow] = {}
    events = db.session.execute(select(Event).order_by(Event.event_date)).scalars().all()
    for event in events:
        rows = [by_year.setdefault(str(event.year), KpiRow(str(event.year)))]
        if year is None or event.year == year:
            rows.append(by_track.setdefault(event.track, KpiRow(event.track)))
        stats = _event_stats(event)
        for row in rows:
            row.events_planned += 1
            row.events_held += event.status in HELD
            row.scenarios.append(stats["scenarios"])
            for key in ("registrations", "meetings", "meetings_held", "follow_ups", "bids", "contracts"):
                setattr(row, key, getattr(row, key) + stats[key])
            row.contract_value += stats["contract_value"]
    return sorted(by_year.values(), key=lambda r: r.key), sorted(by_track.values(), key=lambda r: r.key)


def _event_stats(event: Event) -> dict[str, Any]:
    outcomes = db.session.execute(select(Outcome).join(Meeting).where(Meeting.event_id == event.id)).scalars().all()
    contract_ids = {o.contract_id for o in outcomes if o.contract_id}
    value = Decimal("0.00")
    if contract_ids:
        value = db.session.execute(select(func.coalesce(func.sum(Contract.amount_cny), 0))
                                   .where(Contract.id.in_(contract_ids))).scalar_one()
    return {
        "scenarios": len(event.scenarios),
        "registrations": sum(1 for r in event.registrations if r.side == "sme"),
        "meetings": db.session.execute(select(func.count(Meeting.id)).where(Meeting.event_id == event.id)).scalar_one(),
        "meetings_held": sum(1 for o in outcomes if o.result != OutcomeResult.NO_SHOW),
        "follow_ups": sum(1 for o in outcomes if o.result in FOLLOW_UP),
        "bids": sum(1 for o in outcomes if o.bid_id),
        "contracts": len(contract_ids),
        "contract_value": Decimal(value).quantize(Decimal("0.01")),
    }


def event_report(event: Event) -> dict[str, Any]:
    stats = _event_stats(event)
    stats["checked_in"] = len(checked_in_ids(event))
    stats["participants"] = len(event.registrations)
    return stats


# ---------------------------------------------------------------- art. 9 demonstration projects
def criteria() -> dict[str, dict[str, Any]]:
    return plan()["art9_demo"]["criteria"]


def tier_table(day: dt.date | None = None) -> list[dict[str, Any]]:
    """The art. 9 grades: the score each needs (plan.yaml) and its amount on ``day`` (the subsidy parameters,
    each at most the ceiling); a grade the parameters do not price is left out."""
    from market.subsidies.rewards import tiers_on

    amounts = tiers_on(day or today(clock()))
    return [{"code": t["code"], "min_score": t["min_score"], "amount_cny": amounts[t["code"]]}
            for t in plan()["art9_demo"]["tiers"] if t["code"] in amounts]


def tier_for(total: int, day: dt.date | None = None) -> tuple[str | None, Decimal | None]:
    """The first grade whose minimum the total reaches, and its amount on ``day``."""
    for tier in tier_table(day):
        if total >= tier["min_score"]:
            return tier["code"], tier["amount_cny"]
    return None, None


def declare(user: Any, title: str, summary: str, outcome_id: int | None = None,
            listing_id: int | None = None) -> DemoDeclaration:
    """Declare a demonstration project (art. 9) from an event outcome or a scenario."""
    require(user, "demo_project.declare")
    org = acting_org(user)
    title, summary = (title or "").strip(), (summary or "").strip()
    if not title:
        raise ValidationError(_("请填写项目名称。"), "title")
    if not summary:
        raise ValidationError(_("请填写项目简介。"), "summary")
    if bool(outcome_id) == bool(listing_id):
        raise ValidationError(_("请从一次会谈结果或一个场景申报（二选一）。"), "outcome_id")
    outcome = listing = None
    if outcome_id:
        outcome = db.session.get(Outcome, outcome_id)
        if outcome is None or not _is_party(user, outcome.meeting):
            raise ValidationError(_("只能从本机构参与的会谈结果申报。"), "outcome_id")
    else:
        listing = db.session.get(Listing, listing_id)
        if listing is None or listing.kind != ListingKind.SCENARIO:
            raise ValidationError(_("找不到该场景。"), "listing_id")
        partner = db.session.execute(select(Contract.id).where(
            Contract.listing_id == listing.id, (Contract.payer_id == org.id) | (Contract.payee_id == org.id))).first()
        if listing.owner_id != org.id and partner is None:
            raise ValidationError(_("只能从本机构发布或承接的场景申报。"), "listing_id")
    decl = DemoDeclaration(organisation=org, outcome=outcome, listing=listing, title=title[:200], summary=summary[:5000],
                           declared_by_id=user.id)
    db.session.add(decl)
    db.session.flush()
    audit.record(user, "demo_project.declare", decl, None, audit.snapshot(decl))
    return decl


def grade(user: Any, decl: DemoDeclaration, scores: dict[str, Any], comment: str | None = None) -> DemoDeclaration:
    """A reviewer grades the four criteria (技术创新性、示范效应、可复制推广性、项目规模) by the rubric;
    the total proposes a tier."""
    require(user, "demo_project.grade")
    if decl.status in (DeclarationStatus.HANDED_OFF, DeclarationStatus.DECIDED):
        raise Conflict(_("该项目已移交补贴审批，不能再评分。"))
    clean = {}
    for key, spec in criteria().items():
        value = scores.get(key)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= spec["max"]:
            raise ValidationError(_("%(label)s的得分应为 0 到 %(max)d 的整数。", label=spec["label"], max=spec["max"]),
                                  key)
        clean[key] = value
    before = audit.snapshot(decl)
    decl.scores = clean
    decl.total_score = sum(clean.values())
    decl.proposed_tier, decl.proposed_amount_cny = tier_for(decl.total_score)
    decl.review_comment = (comment or "").strip() or None
    decl.status = DeclarationStatus.GRADED
    decl.graded_by_id = user.id
    decl.graded_at = clock()
    db.session.flush()
    audit.record(user, "demo_project.grade", decl, before, audit.snapshot(decl))
    return decl


def hand_off(user: Any, decl: DemoDeclaration) -> DemoDeclaration:
    """Hand a graded project with a tier to the subsidy engine: status ``handed_off`` is what the
    subsidy feature's admin decision picks up (rule art9_demo)."""
    require(user, "demo_project.handoff")
    if decl.status != DeclarationStatus.GRADED:
        raise Conflict(_("只有已评分的项目才能移交补贴审批。"))
    if decl.proposed_tier is None:
        raise Conflict(_("评分未达到任何档次，不能移交补贴审批。"))
    before = audit.snapshot(decl)
    decl.status = DeclarationStatus.HANDED_OFF
    decl.handed_off_at = clock()
    db.session.flush()
    audit.record(user, "demo_project.handoff", decl, before, audit.snapshot(decl))
    notify(org_admins(decl.organisation_id), "demo_project.handed_off",
           _l("示范项目“%(title)s”已评为 %(tier)s 档，进入补贴审批", title=decl.title, tier=decl.proposed_tier))
    return decl


def outcomes_for_org(org_id: int) -> Sequence[Outcome]:
    return db.session.execute(select(Outcome).join(Meeting).join(MeetingRequest).where(
        (MeetingRequest.from_org_id == org_id) | (MeetingRequest.to_org_id == org_id))).scalars().all()
