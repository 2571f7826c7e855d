"""SME classification (中小企业划型标准规定) as a pure function over the data in sme_classification.yaml.

POLICY.md, "Organisation facts the rules need": by industry, from employees (从业人员), operating
revenue (营业收入) and, for some industries, total assets (资产总额). An enterprise is small, medium
or micro when it is under the SME ceiling (any measure strictly below its ceiling); within that it
is medium when it meets every medium threshold, else small when it meets every small threshold,
else micro. The standard in force on ``on_date`` decides (interpretation 4: "by the national
classification in force at the payment date").

No Flask, no database: plain values in, a :class:`Classification` out.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .localtime import today

DATA_FILE = Path(__file__).with_name("sme_classification.yaml")
WAN = Decimal(10000)  # 万元
SIZE_NAMES = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}
MEASURE_NAMES = {"employees": "从业人员", "revenue_wan": "营业收入", "assets_wan": "资产总额"}
MEASURE_UNITS = {"employees": "人", "revenue_wan": "万元", "assets_wan": "万元"}


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
    reason: str
    standard: str | None = None  # e.g. "工信部联企业〔2011〕300号"

    @property
    def classified(self) -> bool:
        return self.size is not None


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


def _fmt(measure: str, value: Decimal | int) -> str:
    if measure == "employees":
        return f"{MEASURE_NAMES[measure]} {value} {MEASURE_UNITS[measure]}"
    text = f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)
    return f"{MEASURE_NAMES[measure]} {text} {MEASURE_UNITS[measure]}"


def _threshold_text(thresholds: dict[str, Any], op: str, joiner: str) -> str:
    return joiner.join(f"{MEASURE_NAMES[m]} {op} {v}{MEASURE_UNITS[m]}" for m, v in thresholds.items())


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
        return Classification(None, f"{on_date.isoformat()} 没有生效的划型标准。")
    if not industry:
        return Classification(None, "未填写行业，无法划型。", std.source)
    table = std.industries.get(industry)
    if table is None:
        return Classification(None, f"未知行业代码“{industry}”，无法划型。", std.source)

    values: dict[str, Decimal | int | None] = {
        "employees": employees,
        "revenue_wan": None if revenue_cny is None else Decimal(revenue_cny) / WAN,
        "assets_wan": None if assets_cny is None else Decimal(assets_cny) / WAN,
    }
    for measure, value in values.items():
        if value is not None and value < 0:
            raise ValueError(f"{measure} must not be negative")
    needed = [m for m in MEASURE_NAMES if any(m in table[level] for level in ("ceiling", "medium", "small"))]
    missing = [MEASURE_NAMES[m] for m in needed if values[m] is None]
    head = f"{table['name']}（{std.source}）"
    if missing:
        return Classification(None, f"{head}：缺少{'、'.join(missing)}，无法划型。", std.source)

    facts = "、".join(_fmt(m, values[m]) for m in needed)  # type: ignore[arg-type]
    ceiling = table["ceiling"]
    if not any(values[m] < v for m, v in ceiling.items()):  # type: ignore[operator]
        rule = _threshold_text(ceiling, "≥", "且")
        return Classification("large", f"{head}：{facts}；{rule}，超出中小微企业上限 → 大型", std.source)
    for size in ("medium", "small"):
        thresholds = table[size]
        if all(values[m] >= v for m, v in thresholds.items()):  # type: ignore[operator]
            rule = _threshold_text(thresholds, "≥", "且")
            return Classification(size, f"{head}：{facts}；达到{SIZE_NAMES[size]}标准（{rule}）→ {SIZE_NAMES[size]}", std.source)
    rule = _threshold_text(table["small"], "≥", "且")
    return Classification("micro", f"{head}：{facts}；未达小型标准（{rule}）→ 微型", std.source)
