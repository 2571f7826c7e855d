"""Every action code the source records has a label in market/admin/labels.py (one word table),
and every column of an audited table is either labelled or hidden as an internal."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from market.admin import labels

ROOT = Path(__file__).resolve().parents[2] / "market"
CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def recorded_codes() -> tuple[set[str], set[str]]:
    """(literal action codes, f-string prefixes) passed to any call named ``record``."""
    codes: set[str] = set()
    prefixes: set[str] = set()
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned: dict[str, list[str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).extend(_strings(node.value))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name != "record":
                continue
            for arg in node.args[:2]:
                if isinstance(arg, ast.JoinedStr):
                    head = arg.values[0]
                    if isinstance(head, ast.Constant):
                        prefixes.add(head.value)
                    continue
                found = _strings(arg)
                if isinstance(arg, ast.Name):
                    found = assigned.get(arg.id, [])
                codes.update(s for s in found if CODE.match(s))
    return codes, prefixes


def test_every_recorded_action_has_a_label():
    codes, prefixes = recorded_codes()
    assert {"ledger.record", "org.verify", "auth.login", "auth.password_reset", "auth.invite_accepted"} <= codes
    assert len(codes) > 60
    missing = sorted(c for c in codes if c not in labels.ACTIONS)
    assert not missing, f"actions without a label in market/admin/labels.py: {missing}"
    for prefix in prefixes:
        assert any(code.startswith(prefix) for code in labels.ACTIONS), prefix
    assert labels.ACTIONS["ledger.record"] == "记录付款"


def test_every_column_of_an_audited_table_is_labelled_or_hidden():
    import models.deals  # noqa: F401
    import models.ledger  # noqa: F401
    import models.listings  # noqa: F401
    import models.organisations  # noqa: F401
    import models.search  # noqa: F401
    import models.users  # noqa: F401
    from models.base import Base

    missing = []
    for name in labels.OBJECT_TYPES:
        table = Base.metadata.tables.get(name)
        if table is None:
            continue
        missing += [f"{name}.{c.name}" for c in table.columns if c.name not in labels.FIELDS and c.name not in labels.HIDDEN]
    assert not missing, missing
    assert "idempotency_key" in labels.HIDDEN and "description_html" in labels.HIDDEN
