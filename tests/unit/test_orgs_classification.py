"""SME classification against the text of 工信部联企业〔2011〕300号 (POLICY.md's table), incl. boundaries.

The thresholds below are typed again from the standard's text, independently of the YAML data file,
so a typo in either one fails these tests.
"""

import datetime as dt
from decimal import Decimal

import pytest

from market.domain.sme import classify, industry_codes, standard_on, standards

W = 10_000  # 万元
# code: (ceiling, medium, small) with E=employees, R=revenue (万元), A=assets (万元)
TEXT = {
    "agriculture": ({"R": 20000}, {"R": 500}, {"R": 50}),
    "industry": ({"E": 1000, "R": 40000}, {"E": 300, "R": 2000}, {"E": 20, "R": 300}),
    "construction": ({"R": 80000, "A": 80000}, {"R": 6000, "A": 5000}, {"R": 300, "A": 300}),
    "wholesale": ({"E": 200, "R": 40000}, {"E": 20, "R": 5000}, {"E": 5, "R": 1000}),
    "retail": ({"E": 300, "R": 20000}, {"E": 50, "R": 500}, {"E": 10, "R": 100}),
    "transport": ({"E": 1000, "R": 30000}, {"E": 300, "R": 3000}, {"E": 20, "R": 200}),
    "warehousing": ({"E": 200, "R": 30000}, {"E": 100, "R": 1000}, {"E": 20, "R": 100}),
    "postal": ({"E": 1000, "R": 30000}, {"E": 300, "R": 2000}, {"E": 20, "R": 100}),
    "accommodation": ({"E": 300, "R": 10000}, {"E": 100, "R": 2000}, {"E": 10, "R": 100}),
    "catering": ({"E": 300, "R": 10000}, {"E": 100, "R": 2000}, {"E": 10, "R": 100}),
    "information_transmission": ({"E": 2000, "R": 100000}, {"E": 100, "R": 1000}, {"E": 10, "R": 100}),
    "software_it": ({"E": 300, "R": 10000}, {"E": 100, "R": 1000}, {"E": 10, "R": 50}),
    "real_estate": ({"R": 200000, "A": 10000}, {"R": 1000, "A": 5000}, {"R": 100, "A": 2000}),
    "property_management": ({"E": 1000, "R": 5000}, {"E": 300, "R": 1000}, {"E": 100, "R": 500}),
    "leasing_business": ({"E": 300, "A": 120000}, {"E": 100, "A": 8000}, {"E": 10, "A": 100}),
    "other": ({"E": 300}, {"E": 100}, {"E": 10}),
}
ON = dt.date(2027, 1, 1)


def run(code, values):
    e = values.get("E")
    r = Decimal(values["R"]) * W if "R" in values else None
    a = Decimal(values["A"]) * W if "A" in values else None
    return classify(code, e, r, a, ON)


def _cases():
    for code, (ceiling, medium, small) in TEXT.items():
        # exactly at every medium threshold (及以上) and under the ceiling → medium
        at_medium = dict(medium)
        yield code, "medium at its thresholds", at_medium, "medium"
        for m in medium:  # one short on any medium measure → small (still ≥ small thresholds)
            below = dict(medium, **{m: medium[m] - (1 if m == "E" else Decimal("0.01"))})
            yield code, f"{m} just below medium", below, "small"
        yield code, "small at its thresholds", dict(small), "small"
        for m in small:  # one short on any small measure → micro (以下)
            below = dict(small, **{m: small[m] - (1 if m == "E" else Decimal("0.01"))})
            yield code, f"{m} just below small", below, "micro"
        yield code, "zero", {m: 0 for m in ceiling | medium}, "micro"
        # at every ceiling (not 以下 on any) → large
        yield code, "at the ceiling", dict(ceiling), "large"
        for m in ceiling:  # one under on any ceiling measure → SME again ("或")
            under = dict(ceiling, **{m: ceiling[m] - (1 if m == "E" else Decimal("0.01"))})
            rest_meets_medium = all(under[k] >= medium[k] for k in medium)
            yield code, f"{m} just under the ceiling", under, "medium" if rest_meets_medium else "small"


@pytest.mark.parametrize(("code", "label", "values", "size"), list(_cases()), ids=lambda v: str(v) if isinstance(v, str) else None)
def test_table_from_the_standard(code, label, values, size):
    result = run(code, values)
    assert result.size == size, result.reason


def test_every_industry_of_the_standard_is_in_the_data():
    assert set(industry_codes()) == set(TEXT)


@pytest.mark.parametrize(
    ("args", "size"),
    [
        # POLICY.md worked examples
        (("software_it", 50, Decimal("20000000"), None), "small"),
        (("industry", 350, Decimal("350000000"), None), "medium"),
        (("industry", 2000, Decimal("1000000000"), None), "large"),
    ],
)
def test_policy_worked_examples(args, size):
    assert classify(*args, on_date=ON).size == size


def test_reason_cites_the_standard_and_figures():
    result = classify("software_it", 50, Decimal("20000000"), None, ON)
    assert "工信部联企业〔2011〕300号" in result.reason
    assert "从业人员 50 人" in result.reason and "小型" in result.reason


def test_missing_figure_or_unknown_industry_is_not_classified():
    assert classify("construction", 10, Decimal("1000000"), None, ON).size is None
    assert "资产总额" in classify("construction", 10, Decimal("1000000"), None, ON).reason
    assert classify("mining_on_mars", 10, Decimal(1), None, ON).size is None
    assert classify(None, 10, Decimal(1), None, ON).size is None


def test_effective_date():
    std = standards()[0]
    assert std.effective_from == dt.date(2011, 6, 18) and std.source == "工信部联企业〔2011〕300号"
    assert standard_on(dt.date(2011, 6, 17)) is None
    assert classify("other", 5, None, None, dt.date(2011, 6, 17)).size is None
    assert classify("other", 5, None, None, dt.date(2011, 6, 18)).size == "micro"


def test_negative_figures_are_a_programming_error():
    with pytest.raises(ValueError):
        classify("other", -1, None, None, ON)


def test_a_later_standard_applies_from_its_own_date(monkeypatch):
    from market.domain import sme as c

    old = c.standards()
    newer = c.Standard("future", "新标准", "某某〔2030〕1号", dt.date(2030, 1, 1),
                       {"other": {"name": "其他", "ceiling": {"employees": 500}, "medium": {"employees": 200}, "small": {"employees": 20}}})
    monkeypatch.setattr(c, "standards", lambda: (*old, newer))
    assert c.classify("other", 150, None, None, dt.date(2029, 12, 31)).size == "medium"
    assert c.classify("other", 150, None, None, dt.date(2030, 1, 1)).size == "small"
    assert "某某〔2030〕1号" in c.classify("other", 150, None, None, dt.date(2030, 1, 1)).reason


@pytest.mark.parametrize("args", [
    ("industry", 25, Decimal("5000000"), None), ("industry", 2000, Decimal("1e9"), None),
    ("industry", 400, Decimal("5e7"), None), ("construction", 3, Decimal(1), Decimal(1)),
    ("industry", None, None, None), (None, 1, 1, 1), ("nope", 1, 1, 1),
])
def test_every_word_of_an_explanation_goes_through_the_translation(args):
    """A screen in English passes its gettext to explain(): no Chinese may reach it untranslated, except the
    standard's document number (a name)."""
    import re

    from market.domain.sme import explain

    def translate(message: str) -> str:  # an "English" with every Chinese character made x, placeholders kept
        return re.sub(r"[^\x00-\x7f]+", "x", message)

    cls = classify(*args, ON)
    assert explain(cls) == cls.reason  # without a translation: the Chinese the audit trail stores
    english = explain(cls, translate).replace(cls.standard or "", "")
    assert english.isascii() and "x" in english, english
