"""SME classification (中小企业划型标准规定) as a pure function over the data in sme_classification.yaml.

POLICY.md, "Organisation facts the rules need": by industry, from employees (从业人员), operating
revenue (营业收入) and, for some industries, total assets (资产总额). An enterprise is small, medium
or micro when it is under the SME ceiling (any measure strictly below its ceiling); within that it
is medium when it meets every medium threshold, else small when it meets every small threshold,
else micro. The standard in force on ``on_date`` decides (interpretation 4: "by the national
classification in force at the payment date").

No Flask, no database: plain values in, a :class:`Classification` out. A classification keeps its parts
(outcome, facts, thresholds, missing measures); :func:`explain` puts them in words, Chinese by default or
through the ``translate`` a screen passes (the words are marked for the catalogue).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .localtime import today

DATA_FILE = Path(__file__).with_name("sme_classification.yaml")
WAN = Decimal(10000)  # 万元


def N_(message: str) -> str:  # marks words for the catalogue; translated where shown
    return message


MEASURE_NAMES = {"employees": N_("从业人员"), "revenue_wan": N_("营业收入"), "assets_wan": N_("资产总额")}
MEASURE_UNITS = {"employees": N_("人"), "revenue_wan": N_("万元"), "assets_wan": N_("万元")}
# the sentence for each outcome; %(head)s is the industry and its standard, %(facts)s the figures,
# %(rule)s the thresholds that decided
OUTCOME_WORDS = {
    "no_standard": N_("%(date)s 没有生效的划型标准。"),
    "no_industry": N_("未填写行业，无法划型。"),
    "unknown_industry": N_("未知行业代码“%(industry)s”，无法划型。"),
    "missing": N_("%(head)s：缺少%(missing)s，无法划型。"),
    "large": N_("%(head)s：%(facts)s；%(rule)s，超出中小微企业上限 → 大型"),
    "medium": N_("%(head)s：%(facts)s；达到中型标准（%(rule)s）→ 中型"),
    "small": N_("%(head)s：%(facts)s；达到小型标准（%(rule)s）→ 小型"),
    "micro": N_("%(head)s：%(facts)s；未达小型标准（%(rule)s）→ 微型"),
}
HEAD_WORDS = N_("%(industry)s（%(source)s）")
FACT_WORDS = N_("%(measure)s %(value)s %(unit)s")
THRESHOLD_WORDS = N_("%(measure)s ≥ %(value)s%(unit)s")
LIST_JOINER = N_("、")
AND_JOINER = N_("且")


@dataclass(frozen=True)
class Standard:
    id: str
    title: str
    source: str
    effective_from: dt.date
    industries: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Classification:
    size: str | None  # large/medium/small/micro, or None when it cannot be classified
    outcome: str  # a key of OUTCOME_WORDS: the size, or why there is none
    standard: str | None = None  # e.g. "工信部联企业〔2011〕300号"
    industry: str | None = None  # the code (or, for unknown_industry, what was given)
    industry_name: str = ""
    facts: tuple[tuple[str, Decimal | int], ...] = ()  # (measure, value) of the figures that count
    thresholds: tuple[tuple[str, Any], ...] = ()  # (measure, value) of the rule that decided
    missing: tuple[str, ...] = ()  # measures needed and not given
    on_date: dt.date | None = None

    @property
    def classified(self) -> bool:
        return self.size is not None

    @property
    def reason(self) -> str:
        """The classification in Chinese words (what the audit trail stores)."""
        return explain(self)


def _same(message: str) -> str:
    return message


def explain(cls: Classification, translate: Callable[[str], str] = _same) -> str:
    """The classification in words: each piece of :data:`OUTCOME_WORDS` and its parts through ``translate``
    (a screen passes its gettext; the default keeps the Chinese)."""

    def measure(m: str) -> str:
        return translate(MEASURE_NAMES[m])

    def unit(m: str) -> str:
        return translate(MEASURE_UNITS[m])

    head = translate(HEAD_WORDS) % {"industry": translate(cls.industry_name), "source": cls.standard or ""}
    facts = translate(LIST_JOINER).join(
        translate(FACT_WORDS) % {"measure": measure(m), "value": _number(v), "unit": unit(m)} for m, v in cls.facts)
    rule = translate(AND_JOINER).join(
        translate(THRESHOLD_WORDS) % {"measure": measure(m), "value": v, "unit": unit(m)} for m, v in cls.thresholds)
    missing = translate(LIST_JOINER).join(measure(m) for m in cls.missing)
    return translate(OUTCOME_WORDS[cls.outcome]) % {
        "date": cls.on_date.isoformat() if cls.on_date else "", "industry": cls.industry or "", "head": head,
        "facts": facts, "rule": rule, "missing": missing}


@functools.cache
def standards() -> tuple[Standard, ...]:
    """Every standard in the data file, oldest first."""
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    out = []
    for s in data["standards"]:
        eff = s["effective_from"]
        if not isinstance(eff, dt.date):
            eff = dt.date.fromisoformat(str(eff))
        out.append(Standard(s["id"], s["title"], s["source"], eff, s["industries"]))
    return tuple(sorted(out, key=lambda s: s.effective_from))


def standard_on(on_date: dt.date) -> Standard | None:
    in_force = [s for s in standards() if s.effective_from <= on_date]
    return in_force[-1] if in_force else None


def industry_codes() -> list[str]:
    """Every industry code any standard knows (imports and forms accept these)."""
    codes: dict[str, None] = {}
    for s in standards():
        codes.update(dict.fromkeys(s.industries))
    return list(codes)


def industry_name(code: str | None) -> str:
    if not code:
        return "—"
    for s in reversed(standards()):
        if code in s.industries:
            return s.industries[code]["name"]
    return code


def _number(value: Decimal | int) -> str:
    return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)


def classify(
    industry: str | None,
    employees: int | None,
    revenue_cny: Decimal | int | None,
    assets_cny: Decimal | int | None,
    on_date: dt.date | None = None,
) -> Classification:
    """Classify an enterprise by the standard in force on ``on_date`` (default: today in Beijing)."""
    on_date = on_date or today()
    std = standard_on(on_date)
    if std is None:
        return Classification(None, "no_standard", on_date=on_date)
    if not industry:
        return Classification(None, "no_industry", std.source)
    table = std.industries.get(industry)
    if table is None:
        return Classification(None, "unknown_industry", std.source, industry)

    values: dict[str, Decimal | int | None] = {
        "employees": employees,
        "revenue_wan": None if revenue_cny is None else Decimal(revenue_cny) / WAN,
        "assets_wan": None if assets_cny is None else Decimal(assets_cny) / WAN,
    }
    for measure, value in values.items():
        if value is not None and value < 0:
            raise ValueError(f"{measure} must not be negative")
    needed = [m for m in MEASURE_NAMES if any(m in table[level] for level in ("ceiling", "medium", "small"))]
    found = functools.partial(Classification, standard=std.source, industry=industry, industry_name=table["name"])
    missing = tuple(m for m in needed if values[m] is None)
    if missing:
        return found(None, "missing", missing=missing)

    facts = tuple((m, values[m]) for m in needed)
    ceiling = table["ceiling"]
    if not any(values[m] < v for m, v in ceiling.items()):  # type: ignore[operator]
        return found("large", "large", facts=facts, thresholds=tuple(ceiling.items()))  # type: ignore[arg-type]
    for size in ("medium", "small"):
        thresholds = table[size]
        if all(values[m] >= v for m, v in thresholds.items()):  # type: ignore[operator]
            return found(size, size, facts=facts, thresholds=tuple(thresholds.items()))  # type: ignore[arg-type]
    return found("micro", "micro", facts=facts, thresholds=tuple(table["small"].items()))  # type: ignore[arg-type]
