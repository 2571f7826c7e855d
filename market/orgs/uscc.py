"""Unified social credit code (统一社会信用代码) per GB 32100-2015 (POLICY.md, "Organisation facts")."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def make_valid_uscc(n: int) -> str:
    """A valid code for tests and demo data: registration authority 9 (工商), type 1 (企业), Changchun 220100."""
    body = f"91220100{n:09d}"
    return body + check_character(body)
