"""The subsidy feature's demo data: the claims workflow (claims_demo)."""

from __future__ import annotations


def load(world) -> None:
    from . import claims_demo

    claims_demo.load(world)
