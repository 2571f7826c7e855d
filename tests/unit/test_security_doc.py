"""SECURITY.md names the test that proves each defence: every cited test must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cited_tests() -> list[tuple[str, str | None]]:
    cited = []
    for line in (ROOT / "SECURITY.md").read_text(encoding="utf-8").splitlines():
        current = None
        for m in re.finditer(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`::(\w+)`", line):
            current = m.group(1) or current
            name = m.group(2) if m.group(1) else m.group(3)
            if current:
                cited.append((current, name))
    return cited


def test_security_md_cites_tests():
    assert len(cited_tests()) > 40


def test_every_test_security_md_cites_exists():
    missing = []
    for path, name in cited_tests():
        source = ROOT / path
        if not source.exists():
            missing.append(path)
        elif name and not re.search(rf"^\s*(async )?def {name}\b", source.read_text(encoding="utf-8"), re.M):
            missing.append(f"{path}::{name}")
    assert missing == []
