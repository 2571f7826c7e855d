"""Unified social credit code (统一社会信用代码) per GB 32100-2015 (POLICY.md, "Organisation facts").

18 characters from ``ALPHABET`` (digits and capital letters without I, O, Z, S, V); the 18th is a
check character: with ``WEIGHTS`` over the first 17 (each character's value is its index in the
alphabet), check = (31 - sum mod 31) mod 31, written with the same alphabet.
"""

from __future__ import annotations

from flask_babel import gettext as _

from market.errors import ValidationError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def make_valid_uscc(n: int) -> str:
    """A valid code for tests and demo data: registration authority 9 (工商), type 1 (企业), Changchun 220100."""
    body = f"91220100{n:09d}"
    return body + check_character(body)


def uscc_problem(code: str | None) -> str | None:
    """What is wrong with ``code`` in one Chinese sentence, or None when it is valid.

    Strict: lower-case letters and surrounding spaces are errors here (forms upper-case and strip
    what people type before calling this).
    """
    if code is None or code == "":
        return _("请填写统一社会信用代码。")
    if len(code) != LENGTH:
        return _("统一社会信用代码应为 %(n)d 位，当前为 %(m)d 位。", n=LENGTH, m=len(code))
    for pos, ch in enumerate(code, start=1):
        if ch in ALPHABET:
            continue
        if ch.upper() in ALPHABET and ch != ch.upper():
            return _("第 %(pos)d 位“%(ch)s”应为大写字母“%(up)s”。", pos=pos, ch=ch, up=ch.upper())
        if ch.isspace():
            return _("第 %(pos)d 位是空格：统一社会信用代码中不能有空格。", pos=pos)
        if ch.upper() in "IOZSV":
            return _("第 %(pos)d 位“%(ch)s”不合法：统一社会信用代码不使用字母 I、O、Z、S、V。", pos=pos, ch=ch)
        return _("第 %(pos)d 位“%(ch)s”不合法：只能使用数字 0-9 和大写字母（不含 I、O、Z、S、V）。", pos=pos, ch=ch)
    expected = check_character(code[:17])
    if code[17] != expected:
        return _(
            "校验位错误：按 GB 32100-2015 计算，第 18 位应为“%(exp)s”，而不是“%(got)s”；请核对前 17 位是否抄错。",
            exp=expected,
            got=code[17],
        )
    return None


def validate_uscc(code: str | None, field: str = "uscc") -> str:
    """Return ``code`` if valid; otherwise raise ValidationError saying which character is wrong."""
    problem = uscc_problem(code)
    if problem:
        raise ValidationError(problem, field)
    return code  # type: ignore[return-value]


def normalise_input(raw: str | None) -> str:
    """What a person typed into a form: trimmed, upper-case, no inner spaces or hyphens."""
    if raw is None:
        return ""
    return "".join(raw.split()).replace("-", "").upper()
