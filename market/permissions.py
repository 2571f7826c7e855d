"""The one table of who may do what. Routes, the API and services all ask :func:`can`.

An action maps to the roles allowed to perform it and, optionally, an object check (the user's
organisation must own the object, be verified, be of a fitting kind...). District staff pass
object checks that concern ownership; nothing else grants rights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from market.domain import parties
from models.users import Role

from .errors import PermissionDenied

R = Role
EVERY_MEMBER = frozenset({R.SME_MEMBER, R.PROVIDER_MEMBER, R.ORG_ADMIN})
DISTRICT = frozenset({R.DISTRICT_REVIEWER, R.DISTRICT_ADMIN})
ANY_ROLE = EVERY_MEMBER | DISTRICT
ADMIN_ONLY = frozenset({R.DISTRICT_ADMIN})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    check: Callable[[Any, Any], bool] | None = None  # (user, obj) -> allowed
    district_bypass: bool = True  # district staff skip the object check


def own_org(user: Any, obj: Any) -> bool:
    """The object is the user's organisation or belongs to it (owner_id / organisation_id)."""
    if obj is None or user.organisation_id is None:
        return False
    org_id = getattr(obj, "owner_id", None) or getattr(obj, "organisation_id", None)
    if org_id is None and type(obj).__name__ == "Organisation":
        org_id = obj.id
    return org_id == user.organisation_id


def party_to(user: Any, obj: Any) -> bool:
    """The user's organisation pays or is paid in this contract or ledger entry."""
    return obj is not None and bool(parties.sides(user.organisation_id, obj))


def _sme_user(user: Any) -> bool:
    org = getattr(user, "organisation", None)
    return org is not None and org.kind == "sme"


# ---------------------------------------------------------------- the table
RULES: dict[str, Rule] = {
    # foundation: accounts, tokens, audit
    "account.manage_own": Rule(ANY_ROLE),
    "org.manage_members": Rule(frozenset({R.ORG_ADMIN, R.DISTRICT_ADMIN}), own_org),
    "api_token.manage": Rule(frozenset({R.ORG_ADMIN}) | DISTRICT),
    "audit.view": Rule(DISTRICT),
    "notification.view_own": Rule(ANY_ROLE),
    # organisations
    "org.view_admin": Rule(DISTRICT),
    "org.verify": Rule(DISTRICT),
    "org.override_size": Rule(DISTRICT),
    "org.manage_groups": Rule(DISTRICT),
    "org.import": Rule(DISTRICT),
    "org.edit": Rule(frozenset({R.ORG_ADMIN}) | DISTRICT, own_org),
    "org.view_own": Rule(ANY_ROLE),
    "org.view_licence": Rule(frozenset({R.ORG_ADMIN}) | DISTRICT, own_org),
    "org.export": Rule(DISTRICT),
    # listings (the owner's staff edit, a district reviewer publishes: issue 4)
    "listing.manage": Rule(frozenset({R.PROVIDER_MEMBER, R.ORG_ADMIN}), own_org, district_bypass=False),
    "listing.view_unpublished": Rule(EVERY_MEMBER | DISTRICT, own_org),
    "listing.close": Rule(frozenset({R.PROVIDER_MEMBER, R.ORG_ADMIN}) | DISTRICT, own_org),
    "listing.review": Rule(DISTRICT),
    "listing.import": Rule(DISTRICT),
    # deals (the object checks on parties live in market/deals/*.py: a deal has two sides)
    "deals.view": Rule(EVERY_MEMBER | DISTRICT),  # one deal, by its parties or district staff
    "deals.dashboard": Rule(EVERY_MEMBER),  # an organisation's own deals, exports and calendar
    "bid.submit": Rule(frozenset({R.SME_MEMBER, R.ORG_ADMIN})),
    "bid.manage_received": Rule(frozenset({R.PROVIDER_MEMBER, R.ORG_ADMIN}), own_org, district_bypass=False),
    "bid.message": Rule(EVERY_MEMBER),
    "booking.request": Rule(EVERY_MEMBER),
    "booking.manage": Rule(frozenset({R.PROVIDER_MEMBER, R.ORG_ADMIN}), own_org, district_bypass=False),
    "availability.edit": Rule(frozenset({R.PROVIDER_MEMBER, R.ORG_ADMIN}), own_org, district_bypass=False),
    "data_application.submit": Rule(EVERY_MEMBER),
    "data_application.decide": Rule(frozenset({R.PROVIDER_MEMBER, R.ORG_ADMIN}), own_org, district_bypass=False),
    "contract.view": Rule(EVERY_MEMBER | DISTRICT),
    "contract.sign": Rule(EVERY_MEMBER),
    # ledger (POLICY.md interpretation 1: both parties confirm; reviewers see disputes)
    "ledger.view": Rule(ANY_ROLE),
    "ledger.record": Rule(EVERY_MEMBER, party_to, district_bypass=False),
    "ledger.refund": Rule(EVERY_MEMBER, party_to, district_bypass=False),
    "ledger.confirm": Rule(EVERY_MEMBER, party_to, district_bypass=False),
    "ledger.dispute": Rule(EVERY_MEMBER, party_to, district_bypass=False),
    "ledger.resolve": Rule(EVERY_MEMBER | DISTRICT, party_to),
    "ledger.review": Rule(DISTRICT),
    "ledger.import": Rule(ADMIN_ONLY),  # `ledger import` runs as the system; a user importing must be an admin
    "ledger.view_entry": Rule(ANY_ROLE, party_to),
    # search (saved searches are an SME's own; synonyms are data an admin curates)
    "search.save": Rule(frozenset({R.SME_MEMBER, R.ORG_ADMIN}), lambda u, o: _sme_user(u), district_bypass=False),
    "search.saved_manage": Rule(ANY_ROLE, lambda u, o: getattr(o, "user_id", None) == u.id, district_bypass=False),
    "search.manage_synonyms": Rule(ADMIN_ONLY),
    # subsidies: an organisation's calculation sheet is its members' and district staff's to read
    "subsidies.view": Rule(ANY_ROLE, own_org),
    "subsidies.view_all": Rule(DISTRICT),
    "subsidies.decide": Rule(DISTRICT),  # art. 8 opener, art. 9 tiers, art. 13 awards (interpretation 7)
    "subsidies.estimate": Rule(EVERY_MEMBER),  # what a deal would add to one's own subsidy
    # claims (issue 10): an org admin files for its organisation, members read its claims; a reviewer
    # decides and runs the 公示; anyone logged in may object; the admin finalises and records payments
    "subsidies.claims": Rule(ANY_ROLE),
    "subsidies.claim_view": Rule(ANY_ROLE, own_org),
    "subsidies.claim": Rule(frozenset({R.ORG_ADMIN}), own_org, district_bypass=False),
    "subsidies.review": Rule(DISTRICT),
    "subsidies.object": Rule(ANY_ROLE),
    "subsidies.finalise": Rule(ADMIN_ONLY),
    # matchmaking events (art. 8, 9; issue 11): the admin runs them, owners attach their scenarios,
    # members of both sides take part; the services check the party and the event's stage
    "event.manage": Rule(ADMIN_ONLY),
    "event.attach_scenario": Rule(frozenset({R.PROVIDER_MEMBER, R.ORG_ADMIN}), own_org, district_bypass=False),
    "event.participate": Rule(EVERY_MEMBER),
    "event.checkin": Rule(DISTRICT),
    "event.outcome": Rule(EVERY_MEMBER | DISTRICT),
    "demo_project.view": Rule(ANY_ROLE),
    "demo_project.declare": Rule(EVERY_MEMBER),
    "demo_project.grade": Rule(DISTRICT),
    "demo_project.handoff": Rule(ADMIN_ONLY),
    # dashboards (issue 13): everyone's landing page; the district-wide views, charts and their exports
    "dashboard.view": Rule(ANY_ROLE),
    "dashboard.district": Rule(DISTRICT),
    "deals.home": Rule(EVERY_MEMBER | DISTRICT),  # /deals/: district staff are sent to the district lists
    "deals.utilisation": Rule(frozenset({R.PROVIDER_MEMBER, R.ORG_ADMIN}) | DISTRICT),  # district: the district view
}


def rule_for(action: str) -> Rule:
    try:
        return RULES[action]
    except KeyError:  # a typo must not silently grant or deny
        raise KeyError(f"unknown permission action {action!r}; add it to permissions.RULES") from None


def can(user: Any, action: str, obj: Any = None) -> bool:
    rule = rule_for(action)
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role not in rule.roles:
        return False
    if rule.check is None:
        return True
    if rule.district_bypass and user.role in DISTRICT:
        return True
    return rule.check(user, obj)


def require(user: Any, action: str, obj: Any = None) -> None:
    """Raise PermissionDenied unless ``user`` may do ``action`` (on ``obj``)."""
    if not can(user, action, obj):
        from flask_babel import gettext as _

        raise PermissionDenied(_("您没有执行此操作的权限。"))
