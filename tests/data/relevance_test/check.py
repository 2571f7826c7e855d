"""Structural checker for the independent search test set (issue 12).

The rules its assessor fixed in RULES.md, as data; the checking itself is shared by every judged
set (``tests/data/judged_set_check.py``). Structure only, never relevance.

    python tests/data/relevance_test/check.py [DIR] [--stats]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the shared checker beside the sets, without the application

from judged_set_check import OWNERS, QUERY_TYPES, TRACKS, SetRules, load, stats, uscc_ok  # noqa: E402, F401

RULES = SetRules(
    prefix="T",
    min_listings=300,
    min_queries=60,
    min_per_type=dict.fromkeys(QUERY_TYPES, 8),
    max_tags=5,
    listing_ref_digits=False,
    org_prefix_by_kind=False,
    uscc_required=False,
)

ORG_PREFIX = RULES.org_prefix
QUERY_PREFIX = RULES.query_prefix


def check(directory: Path = HERE) -> list[str]:
    return RULES.check(directory)


def main(argv: list[str]) -> int:
    return RULES.main(argv, HERE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
