"""Words for the events enums, translated where shown."""

from __future__ import annotations

from flask_babel import gettext as _

from market.i18n import N_
from models.events import DeclarationStatus, EventStatus, OutcomeResult, RequestStatus

EVENT_STATUS = {
    EventStatus.PLANNED: N_("计划中"),
    EventStatus.CALL_FOR_SCENARIOS: N_("场景征集"),
    EventStatus.REGISTRATION: N_("报名中"),
    EventStatus.REQUESTS: N_("会谈预约"),
    EventStatus.AGENDA_PUBLISHED: N_("日程已发布"),
    EventStatus.HELD: N_("已举办"),
    EventStatus.CLOSED: N_("已结束"),
}
REQUEST_STATUS = {
    RequestStatus.PENDING: N_("待答复"),
    RequestStatus.ACCEPTED: N_("已接受"),
    RequestStatus.DECLINED: N_("已谢绝"),
}
# The art. 9 rubric of plan.yaml (the data file stays its source), marked here for the catalogue;
# tests/unit/test_translations.py checks that every criterion's label and rubric is listed.
RUBRIC_WORDS = (
    N_("技术创新性"), N_("核心技术自主可控、达到国内先进水平得高分"),
    N_("示范效应"), N_("在新区形成可参观、可复制的应用标杆得高分"),
    N_("可复制推广性"), N_("已在两个以上场景或单位推广得高分"),
    N_("项目规模"), N_("合同金额与覆盖用户规模越大得分越高"),
)
OUTCOME = {
    OutcomeResult.NO_SHOW: N_("未到场"),
    OutcomeResult.TALKED: N_("已洽谈"),
    OutcomeResult.FOLLOW_UP: N_("待跟进"),
    OutcomeResult.BID: N_("已投标"),
    OutcomeResult.CONTRACT: N_("已签约"),
}
DECLARATION_STATUS = {
    DeclarationStatus.SUBMITTED: N_("已申报"),
    DeclarationStatus.GRADED: N_("已评分"),
    DeclarationStatus.HANDED_OFF: N_("已移交补贴审批"),
    DeclarationStatus.DECIDED: N_("已审定补贴档次"),
}
SIDE = {"sme": N_("中小企业"), "owner": N_("场景方")}
# how the agenda was computed (matching.agenda's solvers), for the admin's agenda page
AGENDA_METHOD = {
    "flow": N_("最小费用流（精确最优）"),
    "lp": N_("线性规划"),
    "fallback": N_("贪心与局部改进（无线性规划求解器时）"),
    "greedy": N_("贪心法"),
}
PRIORITY = {3: N_("高"), 2: N_("中"), 1: N_("低")}  # a meeting request's priority, as the request form offers it


def _word(table: dict, value: str | None) -> str:
    return _(table[value]) if value in table else (value or "—")


def event_status_label(value: str | None) -> str:
    return _word(EVENT_STATUS, value)


def request_status_label(value: str | None) -> str:
    return _word(REQUEST_STATUS, value)


def outcome_label(value: str | None) -> str:
    return _word(OUTCOME, value)


def declaration_status_label(value: str | None) -> str:
    return _word(DECLARATION_STATUS, value)


def side_label(value: str | None) -> str:
    return _word(SIDE, value)


def agenda_method_label(value: str | None) -> str:
    return _word(AGENDA_METHOD, value)


def priority_label(value: int | None) -> str:
    return _(PRIORITY[value]) if value in PRIORITY else "—"
