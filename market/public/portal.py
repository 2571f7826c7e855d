"""The public home page as a portal: open resources by kind and track, the newest and most requested
listings, the policy in brief. Aggregates are computed in SQL and cached for a short time (TTL, per
locale) so the page renders fast for every anonymous visitor."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from sqlalchemy import func, literal, select, union_all

from market.extensions import db
from market.i18n import N_
from models.deals import Bid, Booking, DataApplication
from models.events import Event, EventStatus
from models.listings import Listing, ListingKind, ListingStatus

PER_KIND = 3  # newest / most requested listings shown per kind
KINDS = tuple(ListingKind)

# ---------------------------------------------------------------- policy in brief (POLICY.md)
ARTICLE_TITLES = {
    7: N_("第七条 开放创新资源"),
    8: N_("第八条 开放场景"),
    9: N_("第九条 场景对接"),
    13: N_("第十三条 公共数据开放"),
}
# plain words per rule id; %(rate)s and %(cap)s are filled from market/subsidies/parameters.yaml (the
# version in force today), %(events)s and %(scenarios)s from policy_brief.yaml
RULE_WORDS = {
    "art7_provider": N_("高校、院所和龙头企业向中小企业出租科研仪器、实验设施、中试基地和数据库：按年度租赁收入的 %(rate)s 补贴，最高 %(cap)s。"),
    "art7_renter": N_("租用这些资源的中小企业：按年度租赁支出的 %(rate)s 补贴，最高 %(cap)s。"),
    "art8_supplier": N_("中小企业承接龙头企业场景项目：按实际交易额的 %(rate)s 补贴，最高 %(cap)s。"),
    "art8_opener": N_("龙头企业向区内中小企业开放场景：一次性奖励，最高 %(cap)s。"),
    "art9_demo": N_("每年举办 %(events)s 场专题场景对接会、开放 %(scenarios)s 个以上场景；场景示范项目评级后最高支持 %(cap)s。"),
    "art13_data": N_("信用、医疗、教育、交通等公共数据开放清单：企业可申请特许开发或授权应用，优质增值项目经绩效评价给予支持。"),
}

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def policy_figures(day: dt.date | None = None) -> dict[str, dict[str, Decimal | None]]:
    """{rule id: {rate, cap}} of the subsidy parameters in force on ``day`` (today in Beijing): the
    engine's own figures, so the home page never disagrees with the calculation. Before the policy
    starts, its first version (what will apply)."""
    from market.domain.localtime import today
    from market.subsidies import parameters

    day = day or today()
    out = {}
    for rule_id in parameters.RULE_IDS:
        rule = parameters.default().rule(rule_id)
        version = rule.version_on(day) or next((v for v in rule.versions if v.effective_from > day), rule.versions[-1])
        out[rule_id] = {"rate": version.rate, "cap": version.cap_cny}
    return out


def policy_brief(day: dt.date | None = None) -> list[dict[str, Any]]:
    """[{article, title, rules: [{id, text}]}] in the reader's language: the articles and the plain
    words from policy_brief.yaml, the rates and caps from the subsidy parameters in force."""
    from flask_babel import gettext as _

    data = yaml.safe_load((Path(__file__).with_name("policy_brief.yaml")).read_text(encoding="utf-8"))
    figures = policy_figures(day)
    out = []
    for art in data["articles"]:
        rules = []
        for rule in art["rules"]:
            rate, cap = figures[rule["id"]]["rate"], figures[rule["id"]]["cap"]
            values = {
                "rate": f"{rate * 100:.0f}%" if rate is not None else "",
                "cap": _money_words(cap) if cap is not None else "",
                "events": str(rule.get("events_per_year", "")),
                "scenarios": str(rule.get("scenarios_per_year", "")),
            }
            rules.append({"id": rule["id"], "text": _(RULE_WORDS[rule["id"]], **values)})
        out.append({"article": art["article"], "title": _(ARTICLE_TITLES[art["article"]]), "rules": rules})
    return out


def _money_words(amount: Decimal) -> str:
    from flask_babel import get_locale

    if str(get_locale()).startswith("zh") and amount % 10000 == 0:
        return f"{amount / 10000:,.0f} 万元"
    return f"¥{amount:,.0f}"


# ---------------------------------------------------------------- aggregates
def _published():
    return Listing.status == ListingStatus.PUBLISHED


def counts_by(column) -> dict[str, int]:
    rows = db.session.execute(select(column, func.count()).where(_published()).group_by(column))
    return {k: n for k, n in rows}


def _card(row: Any, requests: int | None = None) -> dict[str, Any]:
    return {"ref": row.ref, "title": row.title, "track": row.track, "published_at": row.published_at,
            "requests": requests}


def newest_by_kind() -> dict[str, list[dict[str, Any]]]:
    out = {}
    for kind in KINDS:
        rows = db.session.execute(
            select(Listing.ref, Listing.title, Listing.track, Listing.published_at)
            .where(_published(), Listing.kind == kind)
            .order_by(Listing.published_at.desc().nulls_last(), Listing.id.desc()).limit(PER_KIND)
        ).all()
        out[str(kind)] = [_card(r) for r in rows]
    return out


def most_requested_by_kind() -> dict[str, list[dict[str, Any]]]:
    """Requests = bids + bookings + data applications on the listing (any status)."""
    requests = union_all(
        select(Bid.listing_id.label("listing_id"), literal(1).label("n")),
        select(Booking.listing_id.label("listing_id"), literal(1).label("n")),
        select(DataApplication.listing_id.label("listing_id"), literal(1).label("n")),
    ).subquery()
    per_listing = (
        select(requests.c.listing_id, func.count().label("requests")).group_by(requests.c.listing_id).subquery()
    )
    out = {}
    for kind in KINDS:
        rows = db.session.execute(
            select(Listing.ref, Listing.title, Listing.track, Listing.published_at, per_listing.c.requests)
            .join(per_listing, per_listing.c.listing_id == Listing.id)
            .where(_published(), Listing.kind == kind)
            .order_by(per_listing.c.requests.desc(), Listing.published_at.desc().nulls_last(), Listing.id.desc())
            .limit(PER_KIND)
        ).all()
        out[str(kind)] = [_card(r, r.requests) for r in rows]
    return out


UPCOMING = 3  # matchmaking events shown on the home page
# announced (not a draft plan entry, not over): what a visitor can still take part in
ANNOUNCED = (EventStatus.CALL_FOR_SCENARIOS, EventStatus.REGISTRATION, EventStatus.REQUESTS,
             EventStatus.AGENDA_PUBLISHED)


def upcoming_events(day: dt.date | None = None) -> list[dict[str, Any]]:
    """The next announced matchmaking events (art. 9) from today on (Beijing): [{title, theme (the
    track), date, status, url}], soonest first."""
    from market.domain.localtime import today
    from market.links import path_for

    rows = db.session.execute(
        select(Event.id, Event.title, Event.track, Event.event_date, Event.status)
        .where(Event.status.in_([str(s) for s in ANNOUNCED]), Event.event_date >= (day or today()))
        .order_by(Event.event_date, Event.id).limit(UPCOMING)
    ).all()
    return [{"title": r.title, "theme": r.track, "date": r.event_date, "status": r.status,
             "url": path_for("events.detail", event_id=r.id)} for r in rows]


def compute() -> dict[str, Any]:
    by_kind = counts_by(Listing.kind)
    return {
        "by_kind": {str(k): by_kind.get(str(k), 0) for k in KINDS},
        "by_track": dict(sorted(counts_by(Listing.track).items(), key=lambda kv: -kv[1])),
        "total": sum(by_kind.values()),
        "newest": newest_by_kind(),
        "most_requested": most_requested_by_kind(),
        "events": upcoming_events(),
        "policy": policy_brief(),
    }


def home_data(locale: str) -> dict[str, Any]:
    """The portal's aggregates, from a small cache (HOME_CACHE_TTL seconds, per locale)."""
    ttl = current_app.config.get("HOME_CACHE_TTL", 60)
    key = f"{current_app.config.get('SQLALCHEMY_DATABASE_URI')}|{locale}"
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
    data = compute()
    with _lock:
        _cache[key] = (now + ttl, data)
    return data


def clear_cache() -> None:
    with _lock:
        _cache.clear()
