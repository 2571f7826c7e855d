"""USCC per GB 32100-2015 (POLICY.md, "Organisation facts the rules need")."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.errors import ValidationError
from market.orgs.uscc import (
    ALPHABET,
    WEIGHTS,
    check_character,
    make_valid_uscc,
    uscc_problem,
    validate_uscc,
)

bodies = st.text(alphabet=ALPHABET, min_size=17, max_size=17)
# any character a person might type: the alphabet, lower case, the excluded letters, full-width, space
other_chars = st.sampled_from(ALPHABET + "IOZSVabcxyz ioz-０Ａ") | st.characters(codec="utf-8")


def test_known_published_code():
    # 91350100M000100Y43 is the worked example used in GB 32100-2015 explanations
    assert check_character("91350100M000100Y4") == "3"
    assert uscc_problem("91350100M000100Y43") is None


def test_check_formula_matches_policy_text():
    body = "91220100000000001"
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    assert check_character(body) == ALPHABET[(31 - total % 31) % 31]


def test_wrong_check_character_says_what_it_should_be():
    code = make_valid_uscc(7)
    wrong = "0" if code[-1] != "0" else "1"
    message = uscc_problem(code[:17] + wrong)
    assert f"第 18 位应为“{code[-1]}”" in message and f"而不是“{wrong}”" in message


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("", "请填写"),
        ("9122010000000000", "应为 18 位，当前为 16 位"),
        ("91220100000000001X1", "当前为 19 位"),
        ("9122010000000000I1", "第 17 位“I”不合法"),
        ("91220100000000O001", "第 15 位“O”不合法"),
        ("91220100a000000010", "第 9 位“a”应为大写字母“A”"),
        ("9122 100000000001X", "第 5 位是空格"),
        ("91220100#00000001X", "第 9 位“#”不合法"),
    ],
)
def test_messages_name_the_wrong_character(code, fragment):
    assert fragment in uscc_problem(code)


def test_validate_raises_validation_error_on_the_field():
    with pytest.raises(ValidationError) as err:
        validate_uscc("123", field="code")
    assert err.value.field == "code"
    assert validate_uscc(make_valid_uscc(1)) == make_valid_uscc(1)


@given(bodies)
def test_every_generated_valid_code_passes(body):
    assert uscc_problem(body + check_character(body)) is None


@given(bodies, st.integers(min_value=0, max_value=17), other_chars)
def test_every_single_character_change_fails(body, position, replacement):
    code = body + check_character(body)
    if replacement == code[position]:
        replacement = ALPHABET[(ALPHABET.index(code[position]) + 1) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    assert uscc_problem(changed) is not None
