"""The subsidy parameter file: dated versions, and a malformed file refused with the key and the line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from market.subsidies import parameters as pm

TEXT = pm.DATA_FILE.read_text(encoding="utf-8")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    lines = text.splitlines()
    hits = [n for n, line in enumerate(lines, start=1) if needle in line]
    return hits[nth - 1]


def test_the_platform_file_loads_with_the_policy_figures():
    p = pm.default()
    assert p.effective_from == dt.date(2026, 1, 1)
    figures = {r: (p.rule(r).versions[0].rate, p.rule(r).versions[0].cap_cny) for r in pm.LEDGER_RULES}
    assert figures == {
        "art7_provider": (Decimal("0.10"), Decimal("10000000.00")),
        "art7_renter": (Decimal("0.50"), Decimal("200000.00")),
        "art8_supplier": (Decimal("0.05"), Decimal("1000000.00")),
    }
    assert p.rule("art8_opener").versions[0].cap_cny == Decimal("1000000.00")
    assert p.rule("art8_opener").versions[0].period == "once_ever"
    assert max(p.rule("art9_demo").versions[0].tiers.values()) <= Decimal("500000.00")
    assert p.rule("art13_data").versions[0].cap_cny is None
    assert [p.rule(r).article for r in pm.RULE_IDS] == [7, 7, 8, 8, 9, 13]
    assert "按出租年收入的10%给予最高1000万元补贴" in p.rule("art7_provider").clause
    assert "按最优执行，但不重复执行" in p.closing_clause
    assert p.round(Decimal("0.005")) == Decimal("0.01") and p.round(Decimal("2.345")) == Decimal("2.35")
    assert p.rule("art7_provider").versions[0].eligibility.renter_anywhere is True


@pytest.mark.parametrize(
    ("old", "new", "key", "needle"),
    [
        ('rate: "0.50"', 'rate: "half"', "rules.art7_renter.versions[0].rate", 'rate: "half"'),
        ('rate: "0.10"', 'rate: "1.5"', "rules.art7_provider.versions[0].rate", 'rate: "1.5"'),
        ('cap_cny: "200000.00"', 'cap_cny: "200000.001"', "rules.art7_renter.versions[0].cap_cny", "200000.001"),
        ("  effective_from: 2026-01-01\n\nrounding", "  effective_from: 2026-13-01\n\nrounding", "policy.effective_from", "2026-13-01"),
        ("mode: ROUND_HALF_UP", "mode: ROUND_DOWN", "rounding.mode", "ROUND_DOWN"),
        ("          sme_required: true", "          sme_required: maybe", "rules.art7_renter.versions[0].eligibility.sme_required", "maybe"),
        ("A: \"500000.00\"", "A: \"600000.00\"", "rules.art9_demo.versions[0].tiers.A", "600000.00"),
        ("entry_kind: scenario_contract", "entry_kind: lease", "rules.art8_supplier.versions[0].base[0].entry_kind", "lease"),
        ("        period: year\n", "        period: year\n        typo_key: 1\n", "rules.art7_provider.versions[0].typo_key", "typo_key"),
    ],
)
def test_a_malformed_file_is_refused_naming_key_and_line(old, new, key, needle):
    assert old in TEXT
    bad = TEXT.replace(old, new, 1)
    with pytest.raises(pm.ParameterError) as err:
        pm.parse(bad, "parameters.yaml")
    assert err.value.key == key
    assert err.value.line == line_of(bad, needle)
    assert str(err.value).startswith(f"parameters.yaml:{err.value.line}: {key}: ")


def test_a_missing_rule_and_broken_yaml_are_refused():
    start = TEXT.index("  art13_data:")
    with pytest.raises(pm.ParameterError) as err:
        pm.parse(TEXT[:start])
    assert err.value.key == "rules.art13_data"
    with pytest.raises(pm.ParameterError) as err:
        pm.parse("policy: [unclosed\n")
    assert err.value.key == "(yaml)" and err.value.line >= 1


def test_versions_are_dated_and_may_not_overlap():
    revised = TEXT.replace(
        '      - effective_from: 2026-01-01\n        rate: "0.05"',
        '      - effective_from: 2026-01-01\n        effective_to: 2027-06-01\n        rate: "0.05"',
    )
    revised += ""
    p = pm.parse(revised)
    v = p.rule("art8_supplier").versions[0]
    assert v.in_force(dt.date(2027, 5, 31)) and not v.in_force(dt.date(2027, 6, 1))
    assert p.rule("art8_supplier").version_on(dt.date(2027, 6, 1)) is None
    bad = TEXT.replace("      - effective_from: 2026-01-01\n        rate: \"0.05\"",
                       "      - effective_from: 2026-01-01\n        effective_to: 2025-06-01\n        rate: \"0.05\"")
    with pytest.raises(pm.ParameterError) as err:
        pm.parse(bad)
    assert err.value.key == "rules.art8_supplier.versions[0].effective_to"


CHINESE_NUMERALS = {7: "七", 8: "八", 9: "九", 13: "十三"}


def test_each_rule_is_named_in_the_lists_as_the_parameter_file_names_it():
    """The lists show a rule by its translated label (``claims_labels.RULE_NAMES``, where the catalogue can find
    it); the sheet and the reward pages by the parameter file's title. They must say the same: a title edited in
    the file without its label (or a rule added without one) fails here."""
    from market.subsidies.claims_labels import RULE_NAMES

    rules = pm.default().rules
    assert set(RULE_NAMES) == set(rules)
    for rule_id, rule in rules.items():
        assert RULE_NAMES[rule_id] == f"第{CHINESE_NUMERALS[rule.article]}条 {rule.title}", rule_id
